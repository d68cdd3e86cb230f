"""Setting up an async batch (SageMaker Asynchronous Inference), for `studio batch --mode async`
and the window's batch dialog alike: open the client, check the bucket and the endpoint
before a job exists, keep the mode with the job, and build the runner for a job that has it.

Each front end says what is wrong in its own words (flags, or fields); what they share is
here and takes plain values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ASYNC = "async"
SAGEMAKER_MAX_INVOCATION_S = 3600.0  # the longest an async invocation may run
DEFAULT_POLL_S = 5.0


@dataclass
class AsyncSetup:
    """An async batch's S3 prefix, timeout, and its checked client (bucket and endpoint)."""

    settings: dict[str, Any]
    client: Any = None
    codec: Any = None
    fleet: Any = None


def async_settings(s3_uri: str, timeout_s: float, *, s3_endpoint_url: str = "",
                   poll_s: float = DEFAULT_POLL_S) -> dict[str, Any]:
    """What a job keeps of its async mode (`BatchStore.set_remote_mode`)."""
    return {"s3_uri": s3_uri, "timeout_s": timeout_s, "s3_endpoint_url": s3_endpoint_url,
            "poll_s": poll_s}


def photos_refusal(image_column: str) -> str:
    """Why an async batch cannot take a catalog with product photos; each front end adds
    what to do instead."""
    return (f"async makes images from text only in this build; the catalog has product "
            f"photos ({image_column})")


def open_async(saved: dict[str, Any], settings: Any) -> AsyncSetup:
    """The client and payloads for saved async settings. Nothing is sent: a malformed S3 URI
    or a missing endpoint name raises InvalidRequest here."""
    from studio.backend_kinds import sagemaker_async

    setup = AsyncSetup(saved)
    setup.client, setup.codec = sagemaker_async(
        settings, s3_uri=saved["s3_uri"], s3_endpoint_url=saved.get("s3_endpoint_url", ""))
    return setup


def check_async(setup: AsyncSetup, backend: Any) -> AsyncSetup:
    """The bucket (HeadBucket) and the endpoint (DescribeEndpoint: async, in service, its
    fleet), before a job is created. Raises InvalidRequest, CredentialsProblem or
    BackendUnavailable."""
    from studio.batch.async_runner import fleet_of

    setup.client.check_bucket()
    setup.fleet = fleet_of(setup.client, backend)
    return setup


def fleet_line(setup: AsyncSetup, settings: Any) -> str:
    """What the endpoint bills while the batch runs, said before it starts."""
    return (f"Async endpoint {settings.sagemaker.endpoint_name}: {setup.fleet.describe()}; "
            f"requests in {setup.settings['s3_uri']}. It bills instance-hours while the batch "
            "has work in flight (the estimate below counts only its busy time).")


def save_mode(store: Any, job_id: int, setup: AsyncSetup | None) -> None:
    if setup is not None:
        store.set_remote_mode(job_id, ASYNC, setup.settings)


def job_mode(store: Any, job_id: int) -> str:
    """"realtime", "async" or "transform": how the job runs."""
    return str(store.remote_mode(job_id)[0])


def async_runner(store: Any, job_id: int, settings: Any, setup: AsyncSetup | None, *,
                 poll_s: float | None = None, **runner_args: Any) -> Any:
    """The job's AsyncBatchRunner, or None when it is not an async job. `settings` are the
    job's own; `runner_args` are BatchRunner's (backend, loop, base_request, preset,
    exporter, config, on_event, cancel). Without `setup` (a resume), the runner checks the
    bucket and the endpoint before it submits or polls."""
    mode, saved = store.remote_mode(job_id)
    if mode != ASYNC:
        return None
    from studio.batch.async_runner import AsyncBatchRunner, AsyncConfig

    if setup is None:
        setup = open_async(saved, settings)
    if poll_s is not None:
        saved = {**saved, "poll_s": poll_s}
    config = AsyncConfig(timeout_s=float(saved.get("timeout_s", SAGEMAKER_MAX_INVOCATION_S)),
                         poll_s=float(saved.get("poll_s", DEFAULT_POLL_S)))
    runner_args.pop("products", None)
    return AsyncBatchRunner(store, job_id, client=setup.client, codec=setup.codec,
                            async_config=config, fleet=setup.fleet, **runner_args)
