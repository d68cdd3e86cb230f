"""ONNX models Studio fetches when asked (cut-outs, upscalers): the tables, the copies, sessions.

Each kind has a table in resources/models/ (cutout.json, upscalers.json). A model is fetched
only when the user asks for it, into STUDIO_HOME/models/<kind>/<name>/, and used whenever it
is there. Only ONNX files are accepted: ONNX Runtime reads a graph and its weights and runs no
code from the file, unlike a pickled checkpoint. onnxruntime and huggingface_hub are heavy, so
they are imported here and only when a model is fetched or run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from backends.errors import BackendUnavailable, InvalidRequest
from studio.paths import resources_dir, studio_home

KINDS = {"cutout": "cutout.json", "upscaler": "upscalers.json"}
FETCH_COMMANDS = {"cutout": "studio product cutout-model fetch",
                  "upscaler": "studio product upscaler fetch"}
# How a model's first output becomes what Studio uses: a product probability for cut-outs
# (logits → sigmoid, probability → clipped, minmax → rescaled per image as rembg does for
# ISNet) or RGB in 0..1 for upscalers (image).
OUTPUTS = ("logits", "probability", "minmax", "image")
_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{0,63}$")
# What a file that is not ONNX usually starts with, to name it in the refusal.
_NOT_ONNX = ((b"\x80", "a Python pickle (a PyTorch checkpoint)"),
             (b"PK\x03\x04", "a zip archive (a PyTorch checkpoint)"),
             (b"version https://git-lfs", "a Git LFS pointer, not the file itself"),
             (b"<", "an HTML or XML page"),
             (b"GGUF", "a GGUF file"))


@dataclass(frozen=True)
class OnnxModel:
    """One row of a model table."""

    kind: str
    name: str
    label: str
    repo: str
    file: str
    licence: str
    size_mb: float
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    output: str
    input_size: tuple[int, int] | None = None  # (width, height) a cut-out model takes
    scale: int = 1  # an upscaler's enlargement factor
    tile: int = 0  # an upscaler's tile side when the model accepts any size

    def __post_init__(self) -> None:
        where = f"Model {self.name!r} in {KINDS.get(self.kind, self.kind)}"
        if self.kind not in KINDS or not _NAME.match(self.name):
            raise InvalidRequest(f"{where}: a kind of {', '.join(KINDS)} and a lower-case name.")
        if PurePosixPath(self.file).suffix.lower() != ".onnx":
            raise InvalidRequest(f"{where}: {self.file!r} is not an .onnx file; Studio runs "
                                 "ONNX models only.")
        if self.output not in OUTPUTS:
            raise InvalidRequest(f"{where}: output is one of {', '.join(OUTPUTS)}.")
        if len(self.mean) != 3 or len(self.std) != 3 or not all(self.std):
            raise InvalidRequest(f"{where}: mean and std are three numbers, std not zero.")
        if self.kind == "upscaler" and not (2 <= self.scale <= 8 and self.tile >= 0):
            raise InvalidRequest(f"{where}: an upscaler's scale is 2 to 8.")

    @property
    def method(self) -> str:
        """How Studio records what this model made: 'model:<name>'."""
        return f"model:{self.name}"

    @property
    def path(self) -> Path:
        return models_dir() / self.kind / self.name / PurePosixPath(self.file).name

    def is_fetched(self) -> bool:
        return self.path.is_file()

    def fetch_hint(self) -> str:
        return f"{FETCH_COMMANDS[self.kind]} {self.name}"


def models_dir() -> Path:
    return studio_home() / "models"


@lru_cache(maxsize=8)
def read_table(path: Path, kind: str) -> tuple[OnnxModel, ...]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        rows = data["models"]
        models = tuple(_model(kind, row) for row in rows)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InvalidRequest(f"The model table {str(path)!r} cannot be read ({exc}).") from exc
    if not models:
        raise InvalidRequest(f"The model table {str(path)!r} lists no models.")
    return models


def _model(kind: str, row: dict[str, Any]) -> OnnxModel:
    size = row.get("input_size")
    return OnnxModel(kind=kind, name=str(row["name"]), label=str(row.get("label", row["name"])),
                     repo=str(row["repo"]), file=str(row["file"]),
                     licence=str(row["licence"]), size_mb=float(row.get("size_mb", 0)),
                     mean=tuple(float(v) for v in row["mean"]),  # type: ignore[arg-type]
                     std=tuple(float(v) for v in row["std"]),  # type: ignore[arg-type]
                     output=str(row["output"]),
                     input_size=(int(size[0]), int(size[1])) if size else None,
                     scale=int(row.get("scale", 1)), tile=int(row.get("tile", 0)))


def model_table(kind: str) -> tuple[OnnxModel, ...]:
    """The models of `kind` Studio knows, the default first."""
    if kind not in KINDS:
        raise InvalidRequest(f"No model kind {kind!r}; one of {', '.join(KINDS)}.")
    return read_table(resources_dir() / "models" / KINDS[kind], kind)


def find_model(kind: str, name: str | None = None) -> OnnxModel:
    """The model called `name` (None: the default)."""
    table = model_table(kind)
    if name is None:
        return table[0]
    for model in table:
        if model.name == name.strip().lower():
            return model
    raise InvalidRequest(f"No {kind} model {name!r}; choose one of "
                         f"{', '.join(m.name for m in table)}.")


def fetched_models(kind: str) -> list[OnnxModel]:
    """The models of `kind` present on this machine, in table order."""
    return [model for model in model_table(kind) if model.is_fetched()]


def check_onnx_file(path: Path) -> None:
    """Refuse a file that is not an ONNX model before anything reads it as one."""
    if path.suffix.lower() != ".onnx":
        raise InvalidRequest(f"{path.name!r} is not an .onnx file; Studio runs ONNX models "
                             "only (no pickles, no checkpoints).")
    try:
        with path.open("rb") as handle:
            head = handle.read(32)
    except OSError as exc:
        raise InvalidRequest(f"Cannot read the model file {str(path)!r} ({exc}).") from exc
    for signature, what in _NOT_ONNX:
        if head.startswith(signature):
            raise InvalidRequest(f"{str(path)!r} is {what}, not an ONNX model; Studio runs "
                                 "ONNX models only.")
    if len(head) >= 9 and head[8:9] == b"{" and int.from_bytes(head[:8], "little") < 1 << 30:
        raise InvalidRequest(f"{str(path)!r} is a safetensors file, not an ONNX model; "
                             "Studio runs ONNX models only.")


def providers() -> list[str]:
    """CUDA when this onnxruntime build has it (onnxruntime-gpu), then the CPU."""
    import onnxruntime

    available = onnxruntime.get_available_providers()
    return [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]


_sessions: dict[tuple[str, int, int], Any] = {}
_sessions_lock = threading.Lock()


def session_for(model: OnnxModel) -> Any:
    """An ONNX Runtime session for a fetched model (one per file, reused)."""
    if not model.is_fetched():
        raise InvalidRequest(f"The {model.kind} model {model.name!r} is not fetched; "
                             f"`{model.fetch_hint()}` downloads it ({model.size_mb:g} MB).")
    return open_session(model.path, f"`{model.fetch_hint()} --force` fetches it again")


def open_session(path: Path, remedy: str = "") -> Any:
    check_onnx_file(path)
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    with _sessions_lock:
        if key in _sessions:
            return _sessions[key]
    import onnxruntime

    try:
        session = onnxruntime.InferenceSession(str(path), providers=providers())
    except Exception as exc:  # ONNX Runtime raises its own untyped errors for a bad file
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc)
        raise InvalidRequest(f"The model file {str(path)!r} is damaged or not a valid ONNX "
                             f"model ({reason})." + (f" {remedy}." if remedy else "")) from exc
    with _sessions_lock:
        _sessions[key] = session
    return session


def normalise(rgb: np.ndarray, model: OnnxModel) -> np.ndarray:
    """H×W×3 uint8 RGB → 1×3×H×W float32, scaled to 0..1 and normalised by the model's mean/std."""
    values = rgb.astype(np.float32) / 255.0
    values = (values - np.asarray(model.mean, np.float32)) / np.asarray(model.std, np.float32)
    return np.ascontiguousarray(values.transpose(2, 0, 1)[None])


def static_hw(session: Any) -> tuple[int | None, int | None]:
    """The fixed height and width of the session's first input (None where it is dynamic)."""
    shape = session.get_inputs()[0].shape
    if len(shape) != 4:
        raise InvalidRequest(f"The model takes input of shape {shape}; Studio's image models "
                             "take 1×3×H×W.")
    return tuple(v if isinstance(v, int) and v > 0 else None  # type: ignore[return-value]
                 for v in shape[2:4])


def run_first_output(session: Any, batch: np.ndarray) -> np.ndarray:
    """The first output for a float32 batch (cast for a model exported in half precision)."""
    first = session.get_inputs()[0]
    if first.type == "tensor(float16)":
        batch = batch.astype(np.float16)
    try:
        return np.asarray(session.run(None, {first.name: batch})[0], dtype=np.float32)
    except Exception as exc:  # ONNX Runtime's errors are untyped
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc)
        raise InvalidRequest(f"The model failed on this image ({reason}).") from exc


def fetch_model(model: OnnxModel, *, force: bool = False, progress: Any = None,
                endpoint: str | None = None) -> Path:
    """Download `model` from the Hugging Face hub into STUDIO_HOME/models; return its path.

    `progress`: a tqdm class for the download bar (huggingface_hub's own, on stderr, when
    None). `endpoint`: another hub (a mirror; HF_ENDPOINT also works). The file is checked as
    ONNX and opened once before it takes its place, so a half or wrong download is never
    used."""
    if model.is_fetched() and not force:
        return model.path
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import (
        EntryNotFoundError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
    )

    folder = model.path.parent
    folder.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".fetch-", dir=folder))
    try:
        try:
            downloaded = Path(hf_hub_download(model.repo, model.file, local_dir=staging,
                                              tqdm_class=progress, endpoint=endpoint))
        except LocalEntryNotFoundError as exc:  # before EntryNotFoundError: it is one
            raise BackendUnavailable(
                f"Cannot download {model.repo}/{model.file}: the Hugging Face hub cannot be "
                "reached (offline, or HF_HUB_OFFLINE is set).") from exc
        except (RepositoryNotFoundError, EntryNotFoundError) as exc:
            raise InvalidRequest(f"{model.repo}/{model.file} is not on the Hugging Face hub "
                                 f"({type(exc).__name__}); the model table needs updating.") \
                from exc
        except Exception as exc:  # the hub client's HTTP and connection errors vary by version
            raise BackendUnavailable(f"Downloading {model.repo}/{model.file} failed "
                                     f"({type(exc).__name__}: {exc}).") from exc
        open_session(downloaded)
        os.replace(downloaded, model.path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return model.path
