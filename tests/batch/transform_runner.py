"""An emulated Batch Transform worker for tests: moto keeps the control plane, this runs the job.

moto's SageMaker accepts CreateTransformJob and answers DescribeTransformJob, but it runs
nothing: its jobs are "Completed" the moment they are created, with no output. While
installed, `LocalTransform` wraps moto's in-process backend (the ThreadedMotoServer on
127.0.0.1 shares it), so that a new job:

- is refused, as AWS refuses it, when a job of that name already exists;
- starts "InProgress" and is run on a thread: each part file under the job's S3 input
  prefix (in name order), read over real HTTP from moto's S3, each line POSTed to
  `/invocations` of an `EndpointServer` (what `studio endpoint serve` runs, with the tiny
  model), the answers joined one per line into `<part>.out` under the output path;
- ends "Completed" with TransformStartTime/TransformEndTime, or "Failed" with a
  FailureReason when a line is refused (as SageMaker does: the job fails, the parts written
  before stay) or when a fault is injected with `fail_on_part`.

What is emulated: the scheduling (one worker, parts in order, whatever the instance count),
the timing, and the FailureReason wording. What is real: boto3 and its wire protocol to moto,
the S3 objects, the request bodies and the endpoint's answers.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import boto3


@dataclass
class LocalTransform:
    moto_url: str
    endpoint_url: str
    fail_on_part: int | None = None  # this part's container "crashes": the job fails there
    hold: threading.Event = field(default_factory=threading.Event)  # set: jobs may run
    create_calls: list[str] = field(default_factory=list)  # every CreateTransformJob, by name
    requests: list[dict[str, Any]] = field(default_factory=list)  # their arguments
    finished: dict[str, threading.Event] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.hold.set()
        self._threads: list[threading.Thread] = []
        self._s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=self.moto_url)

    # --- installed into moto -------------------------------------------------------------

    def install(self, monkeypatch: Any) -> LocalTransform:
        from moto.sagemaker import models
        from moto.sagemaker.exceptions import ValidationError

        original = models.SageMakerModelBackend.create_transform_job
        runner = self

        def create_transform_job(backend: Any, **kwargs: Any) -> Any:
            name = kwargs["transform_job_name"]
            runner.create_calls.append(name)
            if name in backend.transform_jobs:
                raise ValidationError(message="Job name must be unique within an AWS account "
                                              "and region, and a job with this name already "
                                              "exists")
            job = original(backend, **kwargs)
            runner.requests.append(dict(kwargs))
            job.transform_job_status = "InProgress"
            job.transform_start_time = None
            job.transform_end_time = None
            runner.finished[name] = threading.Event()
            thread = threading.Thread(target=runner._run, args=(job,), daemon=True,
                                      name=f"transform-{name}")
            runner._threads.append(thread)
            thread.start()
            return job

        monkeypatch.setattr(models.SageMakerModelBackend, "create_transform_job",
                            create_transform_job)
        return self

    def join(self, timeout_s: float = 60.0) -> None:
        for thread in self._threads:
            thread.join(timeout_s)

    # --- running one job -----------------------------------------------------------------

    def _run(self, job: Any) -> None:
        self.hold.wait(60)
        job.transform_start_time = datetime.now(UTC)
        try:
            failure = self._parts(job)
        except Exception as exc:  # noqa: BLE001 - the job fails, as SageMaker's would
            failure = f"InternalServerError: {exc}"
        job.transform_end_time = datetime.now(UTC)
        if failure:
            job.failure_reason = failure
            job.transform_job_status = "Failed"
        else:
            job.transform_job_status = "Completed"
        self.finished[job.transform_job_name].set()

    def _parts(self, job: Any) -> str:
        bucket, prefix = _split(job.transform_input["DataSource"]["S3DataSource"]["S3Uri"])
        out_bucket, out_prefix = _split(job.transform_output["S3OutputPath"])
        listing = self._s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
        keys = sorted(entry["Key"] for entry in listing.get("Contents", []))
        for number, key in enumerate(keys):
            if self.fail_on_part == number:
                return ("AlgorithmError: the model container exited while transforming "
                        f"{key.rsplit('/', 1)[-1]} (emulated fault)")
            body = self._s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            answers = []
            for line in body.split(b"\n"):
                if not line.strip():
                    continue
                status, answer = self._invoke(line, job)
                if status != 200:
                    return (f"ClientError: See job logs for more information (the model "
                            f"answered {status}: {answer[:200].decode('utf-8', 'replace')})")
                answers.append(answer)
            name = key.rsplit("/", 1)[-1]
            self._s3.put_object(Bucket=out_bucket, Key=f"{out_prefix.rstrip('/')}/{name}.out",
                                Body=b"\n".join(answers) + b"\n")
        return ""

    def _invoke(self, line: bytes, job: Any) -> tuple[int, bytes]:
        url = urlsplit(self.endpoint_url)
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
        try:
            connection.request("POST", "/invocations", body=line, headers={
                "Content-Type": job.transform_input.get("ContentType", "application/json"),
                "Accept": job.transform_output.get("Accept", "application/json")})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()


def _split(url: str) -> tuple[str, str]:
    bucket, _, key = url.removeprefix("s3://").partition("/")
    return bucket, key


def wait_for(condition: Callable[[], bool], timeout_s: float = 30.0) -> None:
    import time

    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)
