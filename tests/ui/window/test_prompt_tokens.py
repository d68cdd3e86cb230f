"""The token count under the prompt: exact with the model's CLIP tokenizer files, an
estimate (marked ≈) otherwise, and a warning past what the text encoder reads."""

from __future__ import annotations

import json
import string
from pathlib import Path

import pytest

from studio.ui.window.prompt_tokens import (
    counter_for,
    estimate_tokens,
    tokenizer_dir,
)

LONG_PROMPT = ("a walnut desk organiser on a marble counter, soft daylight, brass pen tray, "
               "linen backdrop, " * 8)[:500]


def _write_clip_files(folder: Path) -> Path:
    """A small CLIP vocabulary with real merges ("cat", "dog"), as vocab.json + merges.txt."""
    folder.mkdir(parents=True)
    symbols = list(string.ascii_lowercase + string.digits + string.punctuation)
    vocab: dict[str, int] = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for token in symbols + [s + "</w>" for s in symbols] + ["ca", "cat</w>", "do", "dog</w>"]:
        vocab.setdefault(token, len(vocab))
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\nc a\nca t</w>\nd o\ndo g</w>\n",
                                       encoding="utf-8")
    return folder


@pytest.mark.parametrize("prompt", ["A cat", "a dog, a CAT and 12 cats!", "dogs   cat\tcat",
                                    "l'été d'un chat", ""])
def test_clip_counts_match_transformers_own_tokenizer(tmp_path, prompt) -> None:
    transformers = pytest.importorskip("transformers")
    folder = _write_clip_files(tmp_path / "tokenizer")
    reference = transformers.CLIPTokenizer.from_pretrained(str(folder))
    count = counter_for("sd1", folder)(prompt)
    assert count.exact and count.limit == 77
    assert count.tokens == len(reference(prompt)["input_ids"])


def test_a_saved_tokenizer_json_is_read_too(tiny_sd_path) -> None:
    transformers = pytest.importorskip("transformers")
    folder = tiny_sd_path / "tokenizer"
    reference = transformers.CLIPTokenizer.from_pretrained(str(folder))
    count = counter_for("sdxl", tokenizer_dir(str(tiny_sd_path)))(LONG_PROMPT)
    assert count.exact and count.tokens == len(reference(LONG_PROMPT)["input_ids"]) > 77
    assert count.over
    assert count.text() == (f"{count.tokens} > 77 tokens: the text encoder reads only the "
                            "first 77")


def test_without_tokenizer_files_the_count_is_an_estimate_and_says_so() -> None:
    count = counter_for("sd1", None)("a walnut desk organiser on a marble counter")
    assert not count.exact and count.text().startswith("≈") and "/ 77 tokens" in count.text()
    assert "estimated" in count.tooltip()


@pytest.mark.parametrize(("family", "limit", "encoder"), [
    ("sd3", 256, "T5"), ("flux1", 512, "T5"), ("z-image", 512, "Qwen3"),
    ("qwen-image", 512, "Qwen2.5-VL"), ("flux2", 512, "Mistral")])
def test_other_encoders_have_their_own_limits(family, limit, encoder) -> None:
    count = counter_for(family, None)(LONG_PROMPT)
    assert (count.limit, count.encoder, count.exact) == (limit, encoder, False)
    assert not count.over  # 500 characters are well within 256 T5 tokens


def test_an_unknown_family_shows_no_count() -> None:
    assert counter_for(None, None) is None and counter_for("a-new-family", None) is None


def test_the_estimate_counts_words_symbols_and_long_words() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("a red mug") == 3
    assert estimate_tokens("mug, 12") == 4  # mug , 1 2
    assert estimate_tokens("photorealistic") == 4  # 14 letters, about four pieces


def test_a_hub_model_finds_its_tokenizer_in_the_hugging_face_cache(tmp_path, monkeypatch) -> None:
    repo = tmp_path / "hub" / "models--stabilityai--sdxl-turbo"
    (repo / "snapshots" / "abc123" / "tokenizer").mkdir(parents=True)
    (repo / "snapshots" / "old" / "unet").mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("abc123")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    found = repo / "snapshots" / "abc123" / "tokenizer"
    assert tokenizer_dir("stabilityai/sdxl-turbo") == found
    # A single file takes its tokenizer from its family's reference repo.
    assert tokenizer_dir(str(tmp_path / "model.safetensors"), "stabilityai/sdxl-turbo") == found
    assert tokenizer_dir("someone/not-downloaded") is None
    assert tokenizer_dir("") is None


def test_the_warning_shows_next_to_the_prompt(qtbot, window) -> None:
    panel = window.prompt_panel
    panel.set_prompt("a ceramic mug on oak")
    assert panel.token_label.isVisible()
    assert panel.token_label.text().endswith("/ 77 tokens")
    panel.set_prompt(LONG_PROMPT)
    assert "> 77 tokens: the text encoder reads only the first 77" in panel.token_label.text()
    assert "#d97706" in panel.token_label.styleSheet()  # the warning amber
    panel.set_prompt("")
    assert not panel.token_label.isVisible()
