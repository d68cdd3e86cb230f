"""`studio batch --mode realtime|async|transform`: which SageMaker engine runs a batch.

realtime (the default) calls the endpoint item by item (runner.py). async puts each request
in S3 and calls InvokeEndpointAsync (batch/async_runner.py); its settings are kept with the
job (`BatchStore.set_remote_mode`), so `--resume ID` polls what is in flight. transform is
Batch Transform (batch/transform.py). What the window's batch dialog does too (open the
client, check the bucket and the endpoint, keep the mode, pick the runner) is in
studio.batch.async_setup; this module adds the flags and their messages.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from backends.errors import InvalidRequest
from studio.batch.async_setup import (
    ASYNC,
    SAGEMAKER_MAX_INVOCATION_S,
    AsyncSetup,
    async_settings,
    check_async,
    fleet_line,
    open_async,
    photos_refusal,
    save_mode,
)
from studio.batch.async_setup import async_runner as shared_async_runner

MODES = ("realtime", "async", "transform")
__all__ = ["ASYNC", "MODES", "AsyncSetup", "add_mode_options", "async_runner", "prepare_mode",
           "save_mode"]


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
        raise InvalidRequest(f"--mode {photos_refusal(image_column)}: pass "
                             "--product-images off, or use --mode realtime.")
    setup = open_async(async_settings(args.s3_uri, timeout_s,
                                      s3_endpoint_url=args.s3_endpoint_url,
                                      poll_s=args.async_poll_seconds), settings)
    check_async(setup, backend)
    print(fleet_line(setup, settings), file=sys.stderr)
    return setup


def async_runner(store: Any, job_id: int, settings: Any, args: argparse.Namespace,
                 setup: AsyncSetup | None, **runner_args: Any) -> Any:
    """The job's AsyncBatchRunner, or None when it is not an async job. `runner_args` are
    BatchRunner's (backend, loop, base_request, preset, exporter, config, on_event, cancel)."""
    return shared_async_runner(store, job_id, settings, setup,
                               poll_s=getattr(args, "async_poll_seconds", None), **runner_args)
