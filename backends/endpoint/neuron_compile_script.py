"""The entry point of `studio endpoint compile`'s SageMaker training job.

It runs in the Hugging Face Neuron training container (images.NEURON_TRAINING_IMAGE) on a
trn1 instance, not in Studio: it uses only the standard library, optimum-neuron (imported when
the export runs) and the handler that travels beside it in the job's sourcedir.tar.gz
(`code/inference.py`, for family detection and the family table). SageMaker passes the job's
hyperparameters as `--key value` arguments.

It exports the model with optimum-neuron at one fixed size and batch size 1, then writes into
/opt/ml/model everything `studio endpoint deploy` needs, so the job's model.tar.gz deploys as
it is:

    model_index.json, unet/, text_encoder/, …   the compiled pipeline (*.neuron files)
    code/inference.py, code/families.json, code/requirements.txt    the endpoint handler
    studio_model.json       the model's name, family and licence (as `endpoint package` writes)
    studio_compiled.json    what was compiled: model, size, batch, dtype, family, versions

On failure it prints the reason, writes it to /opt/ml/output/failure (SageMaker shows that
file as the job's FailureReason) and exits non-zero.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import sys
import tarfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

# The optimum-neuron pipeline class per family the Inferentia2 handler can serve
# (inference._load_neuron loads exactly these two).
PIPELINE_CLASSES = {"sd1": "NeuronStableDiffusionPipeline",
                    "sd2": "NeuronStableDiffusionPipeline",
                    "sdxl": "NeuronStableDiffusionXLPipeline"}
DTYPES = ("bf16", "fp32")
# NeuronCore-v2: a model compiled for inf2 runs on trn1 too, and optimum-neuron compiles for
# it on a trn1 machine without an override.
COMPILATION_TARGET = "inf2"
MODEL_DIR = "/opt/ml/model"
FAILURE_LIMIT = 1024  # SageMaker keeps the first 1024 characters of the failure file
HANDLER_FILES = ("inference.py", "families.json", "requirements.txt")
COMPILED_RECORD = "studio_compiled.json"
# Starts the failure message of input the script refuses (CompileFailed), so Studio can tell a
# refused model from a compiler crash in the job's FailureReason.
REFUSED_MARKER = "Studio refused:"
MODEL_RECORD = "studio_model.json"

# (pipeline class name, model folder or hub id, from_pretrained's keyword arguments) -> a
# pipeline with save_pretrained(folder). The real one is optimum_export; tests pass their own.
Exporter = Callable[[str, str, dict[str, Any]], Any]


class CompileFailed(Exception):
    """A reason the compile cannot go on, written for the person who started it."""


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True,
                        help="hub id, or the s3:// URL the model channel was filled from")
    parser.add_argument("--model_channel", "--model-channel", default="",
                        help="read the model from this input channel instead of the hub")
    parser.add_argument("--model_name", "--model-name", default="",
                        help="the name the endpoint reports (default: from --model)")
    parser.add_argument("--width", type=int, required=True)
    parser.add_argument("--height", type=int, required=True)
    parser.add_argument("--batch_size", "--batch-size", type=int, default=1)
    parser.add_argument("--dtype", choices=DTYPES, default="bf16")
    parser.add_argument("--family", default="", help="sd1, sd2 or sdxl (default: detect)")
    parser.add_argument("--variant", default="", help="e.g. turbo (default: detect)")
    parser.add_argument("--output_dir", "--output-dir",
                        default=os.environ.get("SM_MODEL_DIR", MODEL_DIR))
    args, unknown = parser.parse_known_args(list(argv))
    if unknown:
        # The training toolkit may pass arguments of its own; they are not ours to refuse.
        print(f"studio compile: ignoring arguments {' '.join(unknown)}", file=sys.stderr)
    for name in ("width", "height", "batch_size"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be positive")
    return args


def export_call(args: argparse.Namespace, family: str, source: str) -> tuple[str, str,
                                                                            dict[str, Any]]:
    """The exact optimum-neuron call: (pipeline class, source, from_pretrained kwargs)."""
    pipeline_class = PIPELINE_CLASSES.get(family)
    if pipeline_class is None:
        served = ", ".join(sorted(PIPELINE_CLASSES))
        raise CompileFailed(
            f"{display_name(args)} is a {family or 'unknown'} model; Studio compiles and serves "
            f"Stable Diffusion families on Inferentia2 ({served}). Pass --family if detection "
            "was wrong.")
    kwargs: dict[str, Any] = {
        "export": True, "batch_size": args.batch_size, "height": args.height,
        "width": args.width, "num_images_per_prompt": 1,
        "instance_type": COMPILATION_TARGET,
        # bf16: optimum-neuron's documented setting for Stable Diffusion (matrix
        # multiplications in bf16); fp32 compiles without any cast.
        "auto_cast": "matmul" if args.dtype == "bf16" else None,
        "auto_cast_type": "bf16" if args.dtype == "bf16" else None,
    }
    return pipeline_class, source, kwargs


def optimum_export(pipeline_class: str, source: str, kwargs: dict[str, Any]) -> Any:
    import optimum.neuron

    return getattr(optimum.neuron, pipeline_class).from_pretrained(source, **kwargs)


def model_source(args: argparse.Namespace) -> str:
    """The folder or hub id to export: the channel's folder (a model.tar.gz in it unpacked),
    else the hub id."""
    if not args.model_channel:
        return str(args.model)
    variable = "SM_CHANNEL_" + args.model_channel.upper()
    folder = Path(os.environ.get(variable, f"/opt/ml/input/data/{args.model_channel}"))
    if (folder / "model_index.json").is_file():
        return str(folder)
    archives = sorted(folder.glob("*.tar.gz"))
    if len(archives) == 1:
        unpacked = Path(os.environ.get("STUDIO_UNPACK_DIR", "/tmp/studio-model"))
        unpacked.mkdir(parents=True, exist_ok=True)
        with tarfile.open(archives[0]) as archive:
            archive.extractall(unpacked, filter="data")
        if (unpacked / "model_index.json").is_file():
            return str(unpacked)
    raise CompileFailed(
        f"{args.model} holds no diffusers model: the input channel {args.model_channel!r} "
        f"({folder}) has no model_index.json, nor one model.tar.gz that has one. Upload a "
        "folder saved with save_pretrained (aws s3 sync FOLDER s3://…/) or the model.tar.gz "
        "of `studio endpoint package`.")


def handler_dir() -> Path:
    """Where the handler's files are: code/ in the job's sourcedir, or (run from Studio's
    source tree) this file's own folder."""
    here = Path(__file__).resolve().parent
    return here / "code" if (here / "code" / "inference.py").is_file() else here


def load_handler() -> ModuleType:
    path = handler_dir() / "inference.py"
    spec = importlib.util.spec_from_file_location("studio_endpoint_handler", path)
    if spec is None or spec.loader is None:
        raise CompileFailed(f"The endpoint handler is missing from the job's code ({path}).")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


def model_family(args: argparse.Namespace, source: str,
                 handler: ModuleType) -> tuple[str, tuple[str, ...]]:
    if args.family:
        return args.family, tuple(v for v in args.variant.split("-") if v)
    return handler.family_from_configs(handler.config_reader(source), display_name(args))


def display_name(args: argparse.Namespace) -> str:
    return name_of(args.model, args.model_name)


def name_of(model: str, model_name: str = "") -> str:
    """The name the endpoint reports: a hub id as it is, an S3 folder's last part."""
    if model_name:
        return model_name
    if not model.startswith("s3://"):
        return model
    parts = [p for p in model.removeprefix("s3://").split("/") if p]
    if len(parts) > 1 and parts[-1].endswith(".tar.gz"):
        parts.pop()  # .../sdxl-turbo/model.tar.gz is sdxl-turbo
    return parts[-1] if parts else model


def check_size(args: argparse.Namespace, profile: Any) -> None:
    if profile is None:
        return
    for name in ("width", "height"):
        side = getattr(args, name)
        if side % profile.size_multiple or not profile.min_side <= side <= profile.max_side:
            raise CompileFailed(
                f"{profile.label} compiles at sides that are multiples of "
                f"{profile.size_multiple} from {profile.min_side} to {profile.max_side} pixels; "
                f"the {name} is {side}.")


def write_records(out: Path, args: argparse.Namespace, family: str, variants: tuple[str, ...],
                  profile: Any, pipeline_class: str, seconds: float) -> None:
    name = display_name(args)
    model_record = {
        "model": name, "target": "inferentia2", "packaged_by": "studio endpoint compile",
        "family": profile.family if profile else family,
        "variant": profile.variant if profile else "-".join(variants),
        "licence": profile.licence if profile else "unknown: check the model card",
        "commercial_use": profile.commercial if profile else None,
        "saved_with": {},
    }
    compiled = {
        "model": name, "source": args.model, "width": args.width, "height": args.height,
        "batch_size": args.batch_size, "dtype": args.dtype,
        "family": model_record["family"], "variant": model_record["variant"],
        "pipeline": pipeline_class, "compilation_target": COMPILATION_TARGET,
        "optimum_neuron": _version("optimum-neuron"), "neuronx_cc": _version("neuronx-cc"),
        "diffusers": _version("diffusers"), "compile_seconds": round(seconds, 1),
    }
    (out / MODEL_RECORD).write_text(json.dumps(model_record, indent=2), encoding="utf-8")
    (out / COMPILED_RECORD).write_text(json.dumps(compiled, indent=2), encoding="utf-8")


def copy_handler(out: Path) -> None:
    source = handler_dir()
    code = out / "code"
    code.mkdir(parents=True, exist_ok=True)
    for name in HANDLER_FILES:
        if (source / name).is_file():
            shutil.copyfile(source / name, code / name)


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return ""


def compile_model(args: argparse.Namespace, exporter: Exporter = optimum_export) -> Path:
    """Export, save and record; the folder that becomes model.tar.gz."""
    handler = load_handler()
    source = model_source(args)
    family, variants = model_family(args, source, handler)
    profile = handler.family_profile(family, variants)
    check_size(args, profile)
    pipeline_class, source, kwargs = export_call(args, family, source)
    print(f"studio compile: {pipeline_class}.from_pretrained({source!r}, "
          f"{', '.join(f'{k}={v!r}' for k, v in kwargs.items())})", flush=True)
    started = time.monotonic()
    pipeline = exporter(pipeline_class, source, kwargs)
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    pipeline.save_pretrained(str(out))
    seconds = time.monotonic() - started
    if not handler.is_neuron_compiled(str(out)):
        raise CompileFailed(f"optimum-neuron saved no .neuron files in {out}: the export did "
                            "not compile the model.")
    copy_handler(out)
    write_records(out, args, family, variants, profile, pipeline_class, seconds)
    print(f"studio compile: compiled {display_name(args)} at {args.width}x{args.height} in "
          f"{seconds / 60:.1f} min into {out}", flush=True)
    return out


def failure_file_path() -> str:
    """Where SageMaker reads a failed job's reason: the training toolkit's output folder."""
    return os.path.join(os.environ.get("SM_OUTPUT_DIR", "/opt/ml/output"), "failure")


def report_failure(message: str, failure_file: str) -> None:
    print(f"studio compile: FAILED: {message}", file=sys.stderr, flush=True)
    try:
        Path(failure_file).parent.mkdir(parents=True, exist_ok=True)
        Path(failure_file).write_text(message[:FAILURE_LIMIT], encoding="utf-8")
    except OSError:
        pass  # outside SageMaker there may be no /opt/ml; stderr has it


def main(argv: Sequence[str] | None = None, exporter: Exporter = optimum_export,
         failure_file: str = "") -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    failure_file = failure_file or failure_file_path()
    try:
        compile_model(args, exporter)
    except CompileFailed as exc:
        report_failure(f"{REFUSED_MARKER} {exc}", failure_file)
        return 2
    except Exception as exc:  # the compiler's own errors: say which, where the logs are
        report_failure(f"the export failed: {type(exc).__name__}: {exc}", failure_file)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
