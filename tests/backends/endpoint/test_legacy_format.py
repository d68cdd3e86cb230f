"""Files transformers 4 reads, made from what transformers 5 saved."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from backends.endpoint.legacy_format import MERGES_HEADER, legacy_files


def written(model_dir: Path, out: Path) -> Path:
    """The model folder with the replacements written over it, as the package holds it."""
    shutil.copytree(model_dir, out)
    for arcname, replacement in legacy_files(model_dir).items():
        with replacement.open() as data:
            (out / arcname).write_bytes(data.read())
    return out


def test_a_clip_tokenizer_gets_its_vocabulary_and_merges(tiny_sd_path: Path) -> None:
    replacements = legacy_files(tiny_sd_path)
    vocab = json.loads(replacements["tokenizer/vocab.json"].head)
    tokenizer = json.loads((tiny_sd_path / "tokenizer" / "tokenizer.json").read_text())
    assert vocab == tokenizer["model"]["vocab"] and vocab["<|startoftext|>"] == 0
    merges = replacements["tokenizer/merges.txt"].head.decode().splitlines()
    assert merges[0] == MERGES_HEADER  # transformers 4's CLIPTokenizer skips the first line
    assert len(merges) == 1 + len(tokenizer["model"]["merges"])


def test_clip_weights_get_their_prefix_and_keep_every_tensor(tiny_sd_path: Path,
                                                             tmp_path: Path) -> None:
    from safetensors.numpy import load_file

    original = load_file(tiny_sd_path / "text_encoder" / "model.safetensors")
    assert not any(name.startswith("text_model.") for name in original)  # as 5 saves it
    copy = written(tiny_sd_path, tmp_path / "model")
    converted = load_file(copy / "text_encoder" / "model.safetensors")
    assert set(converted) == {f"text_model.{name}" for name in original}
    for name, tensor in original.items():
        assert (converted[f"text_model.{name}"] == tensor).all()


def test_transformers_5_reads_the_converted_weights_as_the_original(tiny_sd_path: Path,
                                                                    tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from transformers import CLIPTextModel

    copy = written(tiny_sd_path, tmp_path / "model")
    before = CLIPTextModel.from_pretrained(tiny_sd_path / "text_encoder").state_dict()
    after = CLIPTextModel.from_pretrained(copy / "text_encoder").state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[name], after[name]) for name in before)


def test_a_model_already_in_the_old_layout_is_left_alone(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    (folder / "tokenizer").mkdir(parents=True)
    (folder / "tokenizer" / "vocab.json").write_text("{}")
    (folder / "tokenizer" / "merges.txt").write_text(MERGES_HEADER + "\n")
    (folder / "tokenizer" / "tokenizer.json").write_text('{"model": {"type": "BPE"}}')
    (folder / "text_encoder").mkdir()
    (folder / "text_encoder" / "config.json").write_text('{"architectures": ["T5EncoderModel"]}')
    assert legacy_files(folder) == {}
