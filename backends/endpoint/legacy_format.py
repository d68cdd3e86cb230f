"""Model files in the layout the SageMaker Hugging Face container's transformers 4 reads.

transformers 5 saves two things its predecessor cannot read, and the GPU container has
transformers 4 (its toolkit, sagemaker-huggingface-inference-toolkit 2.6, imports names that
transformers 5 removed, so installing 5 there would stop the container loading anything):

- a tokenizer as `tokenizer.json` alone: transformers 4's CLIPTokenizer (which diffusers
  asks for) needs `vocab.json` and `merges.txt`, written here from tokenizer.json's BPE model;
- a CLIPTextModel's weights without their `text_model.` prefix: transformers 4 finds none of
  its keys and initialises the text encoder at random. The prefix is put back by rewriting the
  safetensors header only; the tensor bytes are copied as they are. transformers 5 reads the
  prefixed names too (its own conversion for older checkpoints), so the package loads in both.

Nothing here imports transformers: packaging runs where only the cloud extra is installed.
"""

from __future__ import annotations

import io
import json
import struct
from dataclasses import dataclass
from pathlib import Path

MERGES_HEADER = "#version: 0.2"
_PREFIXED = {"CLIPTextModel": "text_model."}  # architecture -> the prefix transformers 4 wants


@dataclass(frozen=True)
class Replacement:
    """A file to put in the package under `arcname` instead of (or beside) the original."""

    arcname: str
    head: bytes  # written first
    source: Path | None = None  # then this file's bytes from `offset` to its end
    offset: int = 0

    @property
    def size(self) -> int:
        tail = self.source.stat().st_size - self.offset if self.source is not None else 0
        return len(self.head) + tail

    def open(self) -> io.BufferedReader:
        # Buffered: tarfile wants every read() whole, and a raw read may stop at the seam.
        return io.BufferedReader(_Spliced(self.head, self.source, self.offset))


def legacy_files(model_dir: Path) -> dict[str, Replacement]:
    """What to write instead of (or beside) the model's own files, by archive name."""
    out: dict[str, Replacement] = {}
    for tokenizer in sorted(model_dir.rglob("tokenizer.json")):
        for replacement in tokenizer_files(tokenizer.parent, model_dir):
            out[replacement.arcname] = replacement
    for config in sorted(model_dir.rglob("config.json")):
        for replacement in prefixed_weights(config.parent, model_dir):
            out[replacement.arcname] = replacement
    return out


def tokenizer_files(folder: Path, root: Path) -> list[Replacement]:
    """vocab.json and merges.txt for a BPE tokenizer saved as tokenizer.json alone."""
    if (folder / "vocab.json").exists() or (folder / "merges.txt").exists():
        return []
    try:
        model = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))["model"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    if not isinstance(model, dict) or model.get("type") != "BPE":
        return []  # Unigram (T5) and WordPiece tokenizers are read from tokenizer.json by 4.x
    vocab, merges = model.get("vocab"), model.get("merges") or []
    if not isinstance(vocab, dict):
        return []
    lines = [m if isinstance(m, str) else " ".join(map(str, m)) for m in merges]
    base = folder.relative_to(root).as_posix()
    return [
        Replacement(f"{base}/vocab.json", json.dumps(vocab, ensure_ascii=False).encode()),
        Replacement(f"{base}/merges.txt",
                    "\n".join([MERGES_HEADER, *lines]).encode("utf-8") + b"\n"),
    ]


def prefixed_weights(folder: Path, root: Path) -> list[Replacement]:
    """The component's safetensors with the prefix transformers 4 expects put back, when a
    transformers 5 save dropped it (and its shard index, if it has one)."""
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(config, dict):
        return []
    prefixes = {_PREFIXED[a] for a in config.get("architectures") or [] if a in _PREFIXED}
    if len(prefixes) != 1:
        return []
    prefix = prefixes.pop()
    out: list[Replacement] = []
    for weights in sorted(folder.glob("*.safetensors")):
        replacement = _renamed(weights, root, prefix)
        if replacement is not None:
            out.append(replacement)
    index = folder / "model.safetensors.index.json"
    if out and index.is_file():
        data = json.loads(index.read_text(encoding="utf-8"))
        data["weight_map"] = {_with_prefix(k, prefix): v
                              for k, v in data.get("weight_map", {}).items()}
        out.append(Replacement(index.relative_to(root).as_posix(),
                               json.dumps(data, indent=2).encode("utf-8")))
    return out


def _with_prefix(name: str, prefix: str) -> str:
    return name if name.startswith(prefix) else prefix + name


def _renamed(weights: Path, root: Path, prefix: str) -> Replacement | None:
    with weights.open("rb") as handle:
        (length,) = struct.unpack("<Q", handle.read(8))
        header = json.loads(handle.read(length))
    names = [k for k in header if k != "__metadata__"]
    if not names or all(k.startswith(prefix) for k in names):
        return None
    renamed = {k if k == "__metadata__" else _with_prefix(k, prefix): v
               for k, v in header.items()}
    encoded = json.dumps(renamed, separators=(",", ":")).encode("utf-8")
    encoded += b" " * (-len(encoded) % 8)  # keep the tensor data 8-byte aligned
    return Replacement(weights.relative_to(root).as_posix(),
                       struct.pack("<Q", len(encoded)) + encoded, weights, 8 + length)


class _Spliced(io.RawIOBase):
    """`head`, then `source` from `offset`: a file's new header before its old data."""

    def __init__(self, head: bytes, source: Path | None, offset: int) -> None:
        self._head = io.BytesIO(head)
        self._tail = source.open("rb") if source is not None else None
        if self._tail is not None:
            self._tail.seek(offset)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        count = self._head.readinto(buffer)
        if count == 0 and self._tail is not None:
            count = self._tail.readinto(buffer)
        return count

    def close(self) -> None:
        if self._tail is not None:
            self._tail.close()
        super().close()
