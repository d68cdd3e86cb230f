"""How much of a prompt the model's text encoder reads, without torch or transformers.

Each family's main text encoder stops at a number of tokens: CLIP (SD 1.x, 2.x, XL) at 77
counting its start and end tokens; SD3 reads 256 tokens through T5, FLUX.1 512 through T5,
FLUX.2, Qwen-Image and Z-Image 512 through their language models (diffusers' defaults,
which the local backend keeps). Words past the limit are silently dropped, so the prompt
panel warns.

CLIP prompts are counted exactly when the model's tokenizer files are on this machine (a
diffusers folder, or the Hugging Face cache) and the `tokenizers` package is installed (it
comes with the `local` extra); otherwise, and for the other encoders, the count is an
estimate and says so ("≈")."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

# family → (encoder, tokens it reads). CLIP's 77 includes its start and end tokens.
FAMILY_ENCODERS: dict[str, tuple[str, int]] = {
    "sd1": ("CLIP", 77),
    "sd2": ("OpenCLIP", 77),
    "sdxl": ("CLIP", 77),
    "sd3": ("T5", 256),
    "flux1": ("T5", 512),
    "flux2": ("Mistral", 512),
    "flux2-klein": ("Qwen3", 512),
    "qwen-image": ("Qwen2.5-VL", 512),
    "qwen-image-edit": ("Qwen2.5-VL", 512),
    "z-image": ("Qwen3", 512),
}
CLIP_ENCODERS = ("CLIP", "OpenCLIP")
CLIP_SPECIAL_TOKENS = 2  # <|startoftext|> and <|endoftext|>
# CLIP's own pre-tokenizer pattern (letters, single digits, runs of other symbols).
CLIP_PATTERN = (r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|"""
                r"""[\p{N}]|[^\s\p{L}\p{N}]+""")
# The same split for the estimate, in Python's re (no \p{L}): words, digits, symbol runs.
_PIECES = re.compile(r"'s|'t|'re|'ve|'m|'ll|'d|[^\W\d_]+|\d|[^\s\w]+|_+", re.IGNORECASE)
# An English word of up to this many letters is usually one token in CLIP's and T5's
# vocabularies; longer, rarer words split into pieces of about four letters.
_ONE_TOKEN_LETTERS = 7
_LETTERS_PER_PIECE = 4


@dataclass(frozen=True)
class TokenCount:
    tokens: int
    limit: int
    encoder: str
    exact: bool

    @property
    def over(self) -> bool:
        return self.tokens > self.limit

    def text(self) -> str:
        """'142 > 77 tokens: the text encoder reads only the first 77' when over, else
        '42 / 77 tokens'; an estimate starts with ≈."""
        count = f"{'' if self.exact else '≈'}{self.tokens}"
        if self.over:
            return (f"{count} > {self.limit} tokens: the text encoder reads only the first "
                    f"{self.limit}")
        return f"{count} / {self.limit} tokens"

    def tooltip(self) -> str:
        how = ("counted with the model's own tokenizer" if self.exact else
               "estimated (the model's tokenizer is not on this machine, or this encoder's "
               "tokenizer is not read without transformers)")
        return (f"The {self.encoder} text encoder reads {self.limit} tokens; words past that "
                f"are dropped. This count is {how}.")


def estimate_tokens(prompt: str) -> int:
    """Tokens a prompt takes, roughly: one per short word, digit or run of symbols, more
    for long words (without the encoder's start and end tokens)."""
    tokens = 0
    for piece in _PIECES.findall(prompt):
        letters = len(piece)
        tokens += 1 if letters <= _ONE_TOKEN_LETTERS else math.ceil(letters / _LETTERS_PER_PIECE)
    return tokens


Counter = Callable[[str], TokenCount]


def counter_for(family: str | None, tokenizer_dir: Path | None) -> Counter | None:
    """A function from prompt to TokenCount for a model of `family` whose tokenizer files
    may be in `tokenizer_dir`; None when the family's limit is not known."""
    if family not in FAMILY_ENCODERS:
        return None
    encoder, limit = FAMILY_ENCODERS[family]
    if encoder not in CLIP_ENCODERS:
        return lambda prompt: TokenCount(estimate_tokens(prompt), limit, encoder, exact=False)
    tokenizer = _clip_tokenizer(str(tokenizer_dir)) if tokenizer_dir is not None else None
    if tokenizer is None:
        return lambda prompt: TokenCount(estimate_tokens(prompt) + CLIP_SPECIAL_TOKENS, limit,
                                         encoder, exact=False)
    return lambda prompt: TokenCount(_count_clip(tokenizer, prompt), limit, encoder,
                                     exact=True)


def _count_clip(tokenizer: Any, prompt: str) -> int:
    return len(tokenizer.encode(prompt, add_special_tokens=False).ids) + CLIP_SPECIAL_TOKENS


@lru_cache(maxsize=8)
def _clip_tokenizer(folder: str) -> Any | None:
    """CLIP's tokenizer from `folder` (tokenizer.json, or vocab.json + merges.txt as
    transformers converts them); None without the files or the `tokenizers` package."""
    try:
        from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers
    except ImportError:
        return None
    root = Path(folder)
    try:
        if (root / "tokenizer.json").is_file():
            return Tokenizer.from_file(str(root / "tokenizer.json"))
        vocab, merges = root / "vocab.json", root / "merges.txt"
        if not (vocab.is_file() and merges.is_file()):
            return None
        tokenizer = Tokenizer(models.BPE.from_file(
            str(vocab), str(merges), continuing_subword_prefix="", end_of_word_suffix="</w>",
            fuse_unk=False, unk_token="<|endoftext|>"))
    except Exception:  # noqa: BLE001 - tokenizers raises plain Exception on a broken file
        return None  # then the count is an estimate, and says so
    tokenizer.normalizer = normalizers.Sequence([
        normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "), normalizers.Lowercase()])
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(CLIP_PATTERN), behavior="removed", invert=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False)])
    return tokenizer


def tokenizer_dir(model: str, reference_repo: str = "") -> Path | None:
    """Where the tokenizer of `model` (a diffusers folder, a hub id, or a single file whose
    family's reference repo gives the tokenizer) lies on this machine, if anywhere."""
    if not model:
        return None
    path = Path(model).expanduser()
    if path.is_dir():
        folder = path / "tokenizer"
        return folder if folder.is_dir() else None
    repo = reference_repo if path.suffix in (".safetensors", ".ckpt") else model
    return _cached_repo_folder(repo, "tokenizer") if repo.count("/") == 1 else None


def _hub_cache() -> Path:
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "huggingface")
    return Path(home) / "hub"


def _cached_repo_folder(repo: str, folder: str) -> Path | None:
    """`folder` of `repo` in the Hugging Face cache (the snapshot main points to, else any),
    read directly: the window does not import huggingface_hub."""
    root = _hub_cache() / f"models--{repo.replace('/', '--')}"
    snapshots = root / "snapshots"
    ref = root / "refs" / "main"
    candidates: list[Path] = []
    try:
        if ref.is_file():
            candidates.append(snapshots / ref.read_text().strip())
        if snapshots.is_dir():
            candidates.extend(sorted(snapshots.iterdir(), key=lambda p: p.stat().st_mtime,
                                     reverse=True))
    except OSError:
        return None
    for snapshot in candidates:
        if (snapshot / folder).is_dir():
            return snapshot / folder
    return None
