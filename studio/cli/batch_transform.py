"""`studio batch --mode transform`: a catalog as SageMaker Batch Transform jobs.

`--model-name` names the SageMaker model the job runs, `--instances` and `--instance-type`
its fleet (by default one instance of the type in Settings → SageMaker), `--s3-uri` where the
JSON Lines and the outputs go. The bucket and the model are checked before the batch job is
stored; the transform's state is kept with the job (`BatchStore.set_remote_mode`), so
`--resume ID` follows a job still running instead of creating another.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any

from backends.errors import InvalidRequest

TRANSFORM = "transform"


def add_transform_options(batch: argparse.ArgumentParser) -> None:
    batch.add_argument("--model-name", metavar="NAME",
                       help="with --mode transform: the SageMaker model the Batch Transform "
                            "job runs (the model behind your endpoint, say)")
    batch.add_argument("--instances", type=int, metavar="N",
                       help="with --mode transform: instances the job runs on (default 1); "
                            "each is billed from the job's start to its end")
    batch.add_argument("--instance-type", metavar="TYPE",
                       help="with --mode transform: e.g. ml.g5.xlarge (default: Settings → "
                            "SageMaker's instance type)")
    batch.add_argument("--transform-poll-seconds", type=float, default=15.0,
                       help=argparse.SUPPRESS)


@dataclass
class TransformSetup:
    options: Any  # studio.batch.transform.TransformOptions
    service: Any  # backends.sagemaker.transform.TransformService


def prepare_transform(args: argparse.Namespace, settings: Any,
                      image_column: str | None) -> TransformSetup | None:
    """For a new job in --mode transform: its checked service (the bucket and the model
    exist) before anything is stored or created. None in the other modes, which refuse the
    transform flags."""
    if getattr(args, "mode", "realtime") != TRANSFORM:
        for flag in ("model_name", "instances", "instance_type"):
            if getattr(args, flag, None) is not None:
                raise InvalidRequest(f"--{flag.replace('_', '-')} is for --mode transform.")
        return None
    from studio.batch.transform import TransformOptions

    if settings.backend != "sagemaker":
        raise InvalidRequest("--mode transform runs on SageMaker: add --backend sagemaker.")
    if not args.s3_uri:
        raise InvalidRequest("--mode transform needs --s3-uri s3://BUCKET/PREFIX for the "
                             "requests and the results.")
    if not args.model_name:
        raise InvalidRequest("--mode transform needs --model-name NAME: the SageMaker model the "
                             "job runs.")
    if args.instances is not None and args.instances < 1:
        raise InvalidRequest("--instances must be at least 1.")
    if image_column:
        raise InvalidRequest(f"--mode transform makes images from text only in this build; the "
                             f"catalog has product photos ({image_column}): pass "
                             "--product-images off, or use --mode realtime.")
    options = TransformOptions(args.model_name, args.s3_uri,
                               args.instance_type or settings.sagemaker.instance_type,
                               args.instances or 1)
    setup = TransformSetup(options, _service(settings, options, args))
    setup.service.check()
    print(f"Batch Transform: model {options.model_name} on {options.instances} × "
          f"{options.instance_type}; requests and results in {options.s3_uri}", file=sys.stderr)
    return setup


def _service(settings: Any, options: Any, args: argparse.Namespace | None) -> Any:
    from studio.backend_kinds import sagemaker_transform

    return sagemaker_transform(settings, model_name=options.model_name,
                               s3_uri=options.s3_uri, instance_type=options.instance_type,
                               instances=options.instances,
                               s3_endpoint_url=getattr(args, "s3_endpoint_url", "") or "")


def transform_estimate(setup: TransformSetup, base_request: Any, items: list[Any]) -> Any:
    from studio.batch.transform import estimate_transform

    return estimate_transform(setup.service, base_request, len(items))


def save_transform(store: Any, job_id: int, setup: Any) -> bool:
    """Keep the transform's options with a new job; False when it is not a transform job."""
    if not isinstance(setup, TransformSetup):
        return False
    from studio.batch.transform import MODE

    store.set_remote_mode(job_id, MODE, setup.options.to_entry())
    return True


def is_transform_job(store: Any, job_id: int) -> bool:
    return bool(store.remote_mode(job_id)[0] == TRANSFORM)


def transform_runner(store: Any, job_id: int, settings: Any, args: argparse.Namespace,
                     setup: Any, **runner_args: Any) -> Any:
    """The job's TransformRunner, or None when it is not a transform job. On a resume the
    failed items get another go (in a new job) once any job still open has ended."""
    if not is_transform_job(store, job_id):
        return None
    from studio.batch.transform import TransformOptions, TransformRunner

    if not isinstance(setup, TransformSetup):  # a resume: the job's own options
        options = TransformOptions.from_entry(store.remote_mode(job_id)[1])
        setup = TransformSetup(options, _service(settings, options, args))
    runner_args.pop("products", None)
    return TransformRunner(store, job_id, service=setup.service,
                           poll_s=getattr(args, "transform_poll_seconds", None) or 15.0,
                           retry_failed=getattr(args, "resume", None) is not None,
                           **runner_args)
