"""`studio batch --mode realtime|async|transform`: which SageMaker engine runs a batch.

realtime (the default) calls the endpoint item by item (runner.py). async puts each request
in S3 and calls InvokeEndpointAsync (batch/async_runner.py); its settings are kept with the
job (`BatchStore.set_remote_mode`), so `--resume ID` polls what is in flight. transform is
Batch Transform (batch/transform.py).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any

from backends.errors import InvalidRequest

MODES = ("realtime", "async", "transform")
SAGEMAKER_MAX_INVOCATION_S = 3600.0  # the longest an async invocation may run
ASYNC = "async"


def add_mode_options(batch: argparse.ArgumentParser) -> None:
    batch.add_argument("--mode", choices=MODES, default="realtime",
                       help="SageMaker only: realtime (default) calls the endpoint item by "
                            "item; async submits each request through S3 to an asynchronous "
                            "endpoint (InvokeEndpointAsync; thousands in flight, resumable); "
                            "transform runs Batch Transform jobs")
    batch.add_argument("--s3-uri", metavar="s3://BUCKET/PREFIX",
                       help="with --mode async or transform: where requests (and, for "
                            "transform, results) go")
    batch.add_argument("--async-timeout", type=float, metavar="SECONDS",
                       help="with --mode async: give up on an item whose output has not "
                            "appeared this long after submitting (default 3600, SageMaker's "
                            "longest async invocation)")
    batch.add_argument("--s3-endpoint-url", metavar="URL", default="",
                       help="with --mode async: S3 at this URL (a local moto server); default "
                            "AWS, or AWS_ENDPOINT_URL_S3")
    batch.add_argument("--async-poll-seconds", type=float, default=5.0, help=argparse.SUPPRESS)


@dataclass
class AsyncSetup:
    """An async batch's S3 prefix, timeout, and its checked client (bucket and endpoint)."""

    settings: dict[str, Any]
    client: Any = None
    codec: Any = None
    fleet: Any = None


def prepare_mode(args: argparse.Namespace, settings: Any, backend: Any,
                 image_column: str | None = None) -> AsyncSetup | None:
    """For a new job: refuse flags that do not fit the mode; for async, check the bucket and
    the endpoint before anything is created or submitted. None for realtime and transform."""
    mode = args.mode
    if mode != ASYNC:
        for flag in ("async_timeout", "s3_endpoint_url"):
            if getattr(args, flag):
                raise InvalidRequest(f"--{flag.replace('_', '-')} is for --mode async.")
    if mode == "realtime":
        if args.s3_uri:
            raise InvalidRequest("--s3-uri is for --mode async or --mode transform.")
        return None
    if mode != ASYNC:
        return None  # transform: studio.cli.batch_transform prepares it
    if settings.backend != "sagemaker":
        raise InvalidRequest(f"--mode {mode} runs on SageMaker: add --backend sagemaker.")
    if not args.s3_uri:
        raise InvalidRequest("--mode async needs --s3-uri s3://BUCKET/PREFIX for the requests.")
    timeout_s = SAGEMAKER_MAX_INVOCATION_S if args.async_timeout is None else args.async_timeout
    if not timeout_s > 0:
        raise InvalidRequest("--async-timeout is a number of seconds above 0.")
    if image_column:
        raise InvalidRequest(f"--mode async makes images from text only in this build; the "
                             f"catalog has product photos ({image_column}): pass "
                             "--product-images off, or use --mode realtime.")
    setup = AsyncSetup({"s3_uri": args.s3_uri, "timeout_s": timeout_s,
                        "s3_endpoint_url": args.s3_endpoint_url,
                        "poll_s": args.async_poll_seconds})
    _open(setup, settings)
    from studio.batch.async_runner import fleet_of

    setup.client.check_bucket()
    setup.fleet = fleet_of(setup.client, backend)
    print(f"Async endpoint {settings.sagemaker.endpoint_name}: {setup.fleet.describe()}; "
          f"requests in {args.s3_uri}. It bills instance-hours while the batch has work in "
          "flight (the estimate below counts only its busy time).", file=sys.stderr)
    return setup


def _open(setup: AsyncSetup, settings: Any) -> None:
    from studio.backend_kinds import sagemaker_async

    setup.client, setup.codec = sagemaker_async(
        settings, s3_uri=setup.settings["s3_uri"],
        s3_endpoint_url=setup.settings.get("s3_endpoint_url", ""))


def save_mode(store: Any, job_id: int, setup: AsyncSetup | None) -> None:
    if setup is not None:
        store.set_remote_mode(job_id, ASYNC, setup.settings)


def async_runner(store: Any, job_id: int, settings: Any, args: argparse.Namespace,
                 setup: AsyncSetup | None, **runner_args: Any) -> Any:
    """The job's AsyncBatchRunner, or None when it is not an async job. `runner_args` are
    BatchRunner's (backend, loop, base_request, preset, exporter, config, on_event, cancel)."""
    mode, saved = store.remote_mode(job_id)
    if mode != ASYNC:
        return None
    from studio.batch.async_runner import AsyncBatchRunner, AsyncConfig

    if setup is None:  # a resume: checked by the runner before it submits or polls
        setup = AsyncSetup(saved)
        _open(setup, settings)
    if getattr(args, "async_poll_seconds", None) is not None:
        saved = {**saved, "poll_s": args.async_poll_seconds}
    config = AsyncConfig(timeout_s=float(saved.get("timeout_s", 3600.0)),
                         poll_s=float(saved.get("poll_s", 5.0)))
    runner_args.pop("products", None)
    return AsyncBatchRunner(store, job_id, client=setup.client, codec=setup.codec,
                            async_config=config, fleet=setup.fleet, **runner_args)
