"""Fetching a diffusers repo from the Hugging Face hub: cache first, network only when needed."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

from backends.errors import BackendUnavailable, Cancelled
from backends.local.detect import family_from_configs
from backends.local.sources import PICKLE_SUFFIXES, ModelSource, pickle_refusal, read_json
from backends.types import CancelToken, Progress, ProgressCallback


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def cached_snapshot(repo_id: str, without: frozenset[str] = frozenset()) -> Path | None:
    """The local snapshot folder of a repo, or None when it was never (fully) downloaded.

    `without` names components whose weights are not needed (a single file brings them)."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        folder = Path(snapshot_download(repo_id, local_files_only=True))
    except (LocalEntryNotFoundError, FileNotFoundError, OSError):
        return None
    if not (folder / "model_index.json").is_file():
        return None
    # A model component (it has a config.json) without weights was skipped by an earlier
    # reference-only download: not enough to run the repo as a model of its own.
    missing = [d.name for d in folder.iterdir() if d.is_dir() and not _skipped(d.name, without)
               and (d / "config.json").is_file() and not any(d.glob("*.safetensors"))]
    return None if missing else folder


def identify_hub_model(source: ModelSource, *, network: bool = True) -> ModelSource:
    """A hub model with its family, read from its small config files (cache first).

    Only model_index.json and two component configs are fetched, so a sampler or mode the
    family cannot do is refused before gigabytes of weights are downloaded. `network=False`
    reads the cache only (for the window and estimates, which must not go online)."""
    if source.kind != "hub" or source.family != "unknown":
        return source
    offline = hub_offline() or not network
    family, variants = family_from_configs(
        lambda rel: _hub_json(source.location, rel, offline), source.location)
    return ModelSource("hub", source.location, family, variants)


def _hub_json(repo_id: str, relpath: str, offline: bool) -> dict | None:
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, LocalEntryNotFoundError

    try:
        path = hf_hub_download(repo_id, relpath, local_files_only=offline)
    except (EntryNotFoundError, LocalEntryNotFoundError, HfHubHTTPError, OSError, ValueError):
        return None  # not fetched yet (offline), gated or absent: ensure_snapshot says why
    return read_json(Path(path))


def ensure_snapshot(
    repo_id: str,
    *,
    prefer_fp16: bool,
    on_progress: ProgressCallback | None,
    cancel: CancelToken,
    without: frozenset[str] = frozenset(),
) -> tuple[Path, str | None]:
    """Return (snapshot folder, weight variant), downloading only the files a pipeline needs.

    `without`: components whose weights to leave out (the transformer, when a single file
    provides it and the repo only supplies text encoders, VAE and configs)."""
    cached = cached_snapshot(repo_id, without)
    if cached is not None:
        return cached, _variant_in_folder(cached, prefer_fp16)
    if hub_offline():
        raise BackendUnavailable(
            f"The model {repo_id!r} has not been downloaded yet, and Studio is offline "
            "(HF_HUB_OFFLINE is set). Connect and unset HF_HUB_OFFLINE to download it once, "
            "or choose a local model folder or .safetensors file."
        )
    from huggingface_hub import HfApi, snapshot_download
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        RepositoryNotFoundError,
    )

    try:
        files = [s.rfilename for s in HfApi().model_info(repo_id).siblings or []]
        patterns, variant = _download_plan(repo_id, files, prefer_fp16, without)
        folder = snapshot_download(
            repo_id, allow_patterns=patterns, tqdm_class=_progress_bar(on_progress, cancel)
        )
    except GatedRepoError as exc:
        raise BackendUnavailable(
            f"{repo_id!r} is gated: accept its licence on huggingface.co, then log in with "
            "`hf auth login` on this machine."
        ) from exc
    except RepositoryNotFoundError as exc:
        raise BackendUnavailable(f"There is no model {repo_id!r} on the Hugging Face hub.") from exc
    except (HfHubHTTPError, OSError) as exc:
        if isinstance(exc.__cause__, Cancelled) or cancel.cancelled:
            raise Cancelled("Download cancelled; the files fetched so far stay in the cache.") \
                from exc
        raise BackendUnavailable(
            f"Could not download {repo_id!r} from the Hugging Face hub ({exc}). "
            "Check your network connection, or choose a local model."
        ) from exc
    return Path(folder), variant


def _download_plan(
    repo_id: str, files: list[str], prefer_fp16: bool, without: frozenset[str] = frozenset()
) -> tuple[list[str], str | None]:
    """Glob patterns for model_index.json, each component's configs, and one weight set."""
    if "model_index.json" not in files:
        raise BackendUnavailable(
            f"{repo_id!r} is not a diffusers pipeline repo (it has no model_index.json). "
            "Download its .safetensors checkpoint and choose that file instead."
        )
    components = {f.split("/", 1)[0] for f in files if "/" in f}
    weights = {c: [f for f in files if f.startswith(c + "/") and f.endswith(".safetensors")]
               if not _skipped(c, without) else [] for c in components}
    for component in (c for c in components if not _skipped(c, without)):
        pickles = [f for f in files if f.startswith(component + "/")
                   and Path(f).suffix in PICKLE_SUFFIXES]
        if pickles and not weights[component]:
            raise pickle_refusal(f"{repo_id}/{pickles[0]}")
    weighted = [c for c in components if weights[c]]
    use_fp16 = prefer_fp16 and weighted and all(
        any(".fp16." in f for f in weights[c]) for c in weighted
    )
    patterns = ["model_index.json"]
    for component in components:
        patterns += [f"{component}/*.json", f"{component}/*.txt", f"{component}/*.model"]
        if _skipped(component, without):
            continue
        patterns += [f"{component}/*.fp16.safetensors"] if use_fp16 else [
            f for f in weights[component] if ".fp16." not in f
        ]
    return patterns, "fp16" if use_fp16 else None


def _skipped(component: str, without: frozenset[str]) -> bool:
    """`without` names components whose weights to leave out; "*" leaves out all of them."""
    return "*" in without or component in without


def _variant_in_folder(folder: Path, prefer_fp16: bool) -> str | None:
    index = json.loads((folder / "model_index.json").read_text(encoding="utf-8"))
    weighted = [folder / c for c, spec in index.items()
                if isinstance(spec, list) and any((folder / c).glob("*.safetensors"))]
    if prefer_fp16 and weighted and all(any(d.glob("*.fp16.safetensors")) for d in weighted):
        return "fp16"
    if weighted and all(not any(p for p in d.glob("*.safetensors") if ".fp16." not in p.name)
                        for d in weighted):
        return "fp16"  # only half-precision weights were downloaded
    return None


def _progress_bar(on_progress: ProgressCallback | None, cancel: CancelToken):
    """A tqdm class that turns hub progress into Progress events and honours cancel."""
    from tqdm.auto import tqdm

    class HubProgress(tqdm):  # type: ignore[misc, valid-type]
        def __init__(self, *args, **kwargs):
            kwargs["disable"] = False  # a disabled bar stops counting, and Progress needs it
            kwargs["file"] = io.StringIO()  # Studio shows the progress; tqdm's own stays quiet
            kwargs.pop("name", None)
            super().__init__(*args, **kwargs)

        def update(self, n: float | None = 1) -> bool | None:
            if cancel.cancelled:
                raise Cancelled("Download cancelled.")
            shown = super().update(n)
            if on_progress is not None:
                done, total = int(self.n), int(self.total or 0)
                on_progress(Progress("download", done, total,
                                     f"Downloading model files {done}/{total}"))
            return shown

    return HubProgress
