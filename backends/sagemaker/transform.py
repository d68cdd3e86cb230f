"""Client side of SageMaker Batch Transform: JSON Lines in S3, one job, outputs read back.

A job's requests are written as JSON Lines, one request body per line (the same body
InvokeEndpoint would get), split into several part files under `<prefix>/<job>/input/`.
SageMaker hands whole files to its instances, so several parts let N instances share the
work, and it writes `<part>.out` under `<prefix>/<job>/output/` when a part is finished: the
parts that have appeared are the job's progress. SageMaker uploads a part's output only when
every line of it succeeded, and fails the whole job when one part fails: the parts finished
before are kept, the lines of the others have no output. Within a part, output line i
answers input line i (SplitType Line, BatchStrategy SingleRecord, AssembleWith Line).

Each job has a name chosen by the caller before it is created, so a process killed right
after CreateTransformJob finds its job again with DescribeTransformJob instead of creating
(and paying for) a second one; AWS refuses a second job of the same name.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from backends.errors import BackendError, BackendUnavailable, InvalidRequest
from backends.families import GENERIC_GUIDANCE, GENERIC_STEPS
from backends.sagemaker import payloads
from backends.sagemaker.async_inference import S3Prefix
from backends.sagemaker.cost import default_rate
from backends.types import (
    Cost,
    GeneratedImage,
    GenerationRequest,
    GenerationResult,
    Timings,
    refuse_local_only,
)

MAX_PAYLOAD_MB = 6  # per record; our requests are a few kB, PNG answers a few MB
CONTENT_TYPE = "application/json"
SHARDS_PER_INSTANCE = 4  # parts per instance: finer progress and partial results
# A part's output is read whole: 50 answers of a 1-megapixel PNG (about 2 MB each in base64)
# stay near 100 MB.
MAX_LINES_PER_SHARD = 50
FINISHED = ("Completed", "Failed", "Stopped")
_NAME_CHARS = 63  # TransformJobName: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}


@dataclass(frozen=True)
class TransformPlan:
    """One transform job: its name, where its parts go, and on what it runs."""

    job_name: str
    model_name: str
    instance_type: str
    instances: int
    prefix: S3Prefix
    shards: tuple[str, ...]  # part file names, in order

    def input_uri(self) -> str:
        return self.prefix.url(self.job_name, "input") + "/"

    def output_uri(self) -> str:
        return self.prefix.url(self.job_name, "output") + "/"

    def input_key(self, shard: str) -> str:
        return self.prefix.key(self.job_name, "input", shard)

    def output_key(self, shard: str) -> str:
        return self.prefix.key(self.job_name, "output", f"{shard}.out")

    def create_request(self) -> dict[str, Any]:
        """CreateTransformJob's arguments."""
        return {
            "TransformJobName": self.job_name,
            "ModelName": self.model_name,
            # One image at a time per instance: a GPU generates one image at a time, and a
            # second request would only wait (and could time out) behind the first.
            "MaxConcurrentTransforms": 1,
            "MaxPayloadInMB": MAX_PAYLOAD_MB,
            "BatchStrategy": "SingleRecord",
            "TransformInput": {
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                "S3Uri": self.input_uri()}},
                "ContentType": CONTENT_TYPE,
                "SplitType": "Line",
            },
            "TransformOutput": {"S3OutputPath": self.output_uri(), "Accept": CONTENT_TYPE,
                                "AssembleWith": "Line"},
            "TransformResources": {"InstanceType": self.instance_type,
                                   "InstanceCount": self.instances},
        }


@dataclass(frozen=True)
class JobStatus:
    name: str
    status: str  # InProgress, Completed, Failed, Stopping, Stopped
    failure_reason: str = ""
    started: datetime | None = None
    ended: datetime | None = None
    instance_type: str = ""
    instances: int = 0
    model_name: str = ""
    input_uri: str = ""

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def instance_seconds(self) -> float:
        """What SageMaker bills: every instance from the job's start to its end (0 until
        it has both)."""
        if self.started is None or self.ended is None:
            return 0.0
        return max(0.0, (self.ended - self.started).total_seconds()) * max(1, self.instances)


def job_name(token: str, batch_id: int, counter: int) -> str:
    """A name unique to this batch (`token` is drawn once per batch job, so two machines'
    batch 1 never share a job) and deterministic, so a resume finds the job again."""
    cleaned = "".join(c for c in token if c.isascii() and c.isalnum())[:16]
    name = f"studio-{cleaned}-{batch_id}-{counter}"
    if len(name) > _NAME_CHARS or not cleaned:
        raise InvalidRequest(f"Cannot make a transform job name from {token!r}.")
    return name


def shard_sizes(lines: int, instances: int) -> list[int]:
    """How many lines go in each part file: about SHARDS_PER_INSTANCE parts per instance,
    none over MAX_LINES_PER_SHARD, sizes as even as they can be."""
    if lines <= 0:
        return []
    parts = max(1, min(lines, max(instances * SHARDS_PER_INSTANCE,
                                  math.ceil(lines / MAX_LINES_PER_SHARD))))
    base, extra = divmod(lines, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def shard_name(index: int) -> str:
    return f"part-{index:05d}.jsonl"


def request_line(request: GenerationRequest, seed: int, payload_format: str) -> bytes:
    """One image's request body, as the SageMaker backend sends it to InvokeEndpoint."""
    refuse_local_only(request, "A SageMaker Batch Transform job",
                      edits=payload_format != "jumpstart")
    encoded = payloads.encode(request.replace(seed=seed, count=1), [seed], payload_format)
    payloads.check_body_size(encoded)
    if b"\n" in encoded.body or b"\r" in encoded.body:  # json.dumps never does; guard anyway
        raise InvalidRequest("A request body spans several lines; it cannot go in JSON Lines.")
    return encoded.body


def seconds_per_image(request: GenerationRequest, instance_type: str) -> float:
    """A guess at one image's seconds on `instance_type`, for estimates before any job ran."""
    steps = request.steps or GENERIC_STEPS
    return default_rate(instance_type) * steps * request.width * request.height / 1e6


def result_from_line(raw: bytes, request: GenerationRequest, seed: int, payload_format: str,
                     *, cost: Cost, fleet: str) -> GenerationResult:
    """One output line as a result: its image, what ran, the server's timings. Raises
    BackendUnavailable when the line is not an answer Studio understands."""
    decoded = payloads.decode(raw, payload_format, [seed])
    sent = payloads.sent_request(request.replace(seed=seed, count=1), payload_format)
    ran = sent.replace(
        steps=decoded.steps or sent.steps or GENERIC_STEPS,
        guidance=(decoded.guidance if decoded.guidance is not None
                  else sent.guidance if sent.guidance is not None else GENERIC_GUIDANCE),
        speed=decoded.speed or sent.speed)
    server = decoded.server
    timings = (Timings(queue_s=server.queue_s, inference_s=server.inference_s,
                       decode_s=server.encode_s, total_s=server.queue_s + server.total_s)
               if server is not None else Timings())
    images = tuple(GeneratedImage(image, s) for image, s in zip(decoded.images, decoded.seeds,
                                                                strict=True))
    return GenerationResult(
        request=ran, images=images, timings=timings, cost=cost, backend="sagemaker",
        model=decoded.model or request.model or "transform",
        device=f"{fleet} ({decoded.device})" if decoded.device else fleet,
        family=decoded.family, licence=decoded.licence,
        commercial_use=decoded.commercial_use, accelerations=decoded.accelerations)


class TransformJobs:
    """Creates and follows Batch Transform jobs. `sagemaker` is a SageMaker control-plane
    client and `s3` an S3 client, both from boto3's own credential chain."""

    def __init__(self, sagemaker: Any, s3: Any, prefix: S3Prefix) -> None:
        self.sagemaker = sagemaker
        self.s3 = s3
        self.prefix = prefix

    # --- before anything is written ------------------------------------------------------

    def check_bucket(self) -> None:
        """Refuse a missing or forbidden bucket before anything is written or created."""
        with _aws("reach the S3 bucket"):
            from botocore.exceptions import ClientError

            try:
                self.s3.head_bucket(Bucket=self.prefix.bucket)
            except ClientError as exc:
                code = _code(exc)
                if code in ("404", "NoSuchBucket"):
                    raise InvalidRequest(f"The S3 bucket {self.prefix.bucket} does not exist (or "
                                         "is in another account): create it or fix --s3-uri."
                                         ) from None
                if code in ("403", "AccessDenied"):
                    raise BackendUnavailable(
                        f"Your AWS identity may not use the S3 bucket {self.prefix.bucket}: it "
                        "needs s3:ListBucket, s3:PutObject and s3:GetObject there, and the "
                        "model's execution role needs s3:GetObject and s3:PutObject too."
                    ) from None
                raise BackendUnavailable(f"Could not reach the S3 bucket {self.prefix.bucket}: "
                                         f"{_message(exc)}") from None

    def check_model(self, model_name: str) -> None:
        """The SageMaker model the job will run must exist (`studio endpoint deploy` or
        `aws sagemaker create-model` makes one)."""
        with _aws("check the SageMaker model"):
            from botocore.exceptions import ClientError

            if not model_name:
                raise InvalidRequest("--mode transform needs --model-name NAME: the SageMaker "
                                     "model the job runs (the one behind your endpoint, say).")
            try:
                self.sagemaker.describe_model(ModelName=model_name)
            except ClientError as exc:
                if _code(exc) == "ValidationException" and "not find" in _message(exc).lower():
                    raise InvalidRequest(f"There is no SageMaker model {model_name} in this "
                                         "account and region: check --model-name and --region."
                                         ) from None
                if _code(exc) in ("AccessDeniedException", "AccessDenied"):
                    raise BackendUnavailable("Your AWS identity may not describe SageMaker models "
                                             "(sagemaker:DescribeModel).") from None
                raise BackendUnavailable(f"Could not check the model {model_name}: "
                                         f"{_message(exc)}") from None

    # --- one job -------------------------------------------------------------------------

    def write_inputs(self, plan: TransformPlan, parts: list[list[bytes]]) -> None:
        """Every part file, one request per line. Writing again gives the same objects, so a
        resume that was killed while writing simply writes them again."""
        with _aws("write the requests to S3"):
            for shard, lines in zip(plan.shards, parts, strict=True):
                self.s3.put_object(Bucket=plan.prefix.bucket, Key=plan.input_key(shard),
                                   Body=b"\n".join(lines) + b"\n", ContentType="application/jsonl")

    def create(self, plan: TransformPlan) -> None:
        """CreateTransformJob. A job of that name that already exists (created just before a
        crash) is kept, never duplicated."""
        with _aws("create the transform job"):
            from botocore.exceptions import ClientError

            try:
                self.sagemaker.create_transform_job(**plan.create_request())
            except ClientError as exc:
                message = _message(exc)
                if "unique" in message.lower() or "already exists" in message.lower():
                    return
                if _code(exc) in ("AccessDeniedException", "AccessDenied"):
                    raise BackendUnavailable("Your AWS identity may not create transform jobs "
                                             "(sagemaker:CreateTransformJob).") from None
                if _code(exc) == "ResourceLimitExceeded":
                    raise BackendUnavailable(f"SageMaker refused the job: {message} Ask for a "
                                             "higher quota or use fewer --instances.") from None
                raise InvalidRequest(f"SageMaker refused the transform job: {message}") from None

    def describe(self, name: str) -> JobStatus | None:
        """The job as SageMaker reports it; None when there is no job of that name."""
        with _aws("describe the transform job"):
            from botocore.exceptions import ClientError

            try:
                answer = self.sagemaker.describe_transform_job(TransformJobName=name)
            except ClientError as exc:
                if _code(exc) in ("ValidationException", "ResourceNotFound") and \
                        "not find" in _message(exc).lower():
                    return None
                raise BackendUnavailable(f"Could not describe the transform job {name}: "
                                         f"{_message(exc)}") from None
            resources = answer.get("TransformResources") or {}
            source = (answer.get("TransformInput") or {}).get("DataSource", {}).get(
                "S3DataSource", {})
            return JobStatus(
                name=name, status=str(answer.get("TransformJobStatus", "")),
                failure_reason=str(answer.get("FailureReason") or ""),
                started=answer.get("TransformStartTime"), ended=answer.get("TransformEndTime"),
                instance_type=str(resources.get("InstanceType", "")),
                instances=int(resources.get("InstanceCount") or 0),
                model_name=str(answer.get("ModelName", "")), input_uri=str(source.get("S3Uri", "")))

    def finished_shards(self, plan: TransformPlan) -> set[str]:
        """The parts whose output file has appeared."""
        with _aws("list the job's outputs in S3"):
            found: set[str] = set()
            start = plan.prefix.key(plan.job_name, "output") + "/"
            paginator = self.s3.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=plan.prefix.bucket, Prefix=start):
                for entry in page.get("Contents", []):
                    name = str(entry["Key"])[len(start):]
                    if name.endswith(".out") and name[:-4] in plan.shards:
                        found.add(name[:-4])
            return found

    def read_output(self, plan: TransformPlan, shard: str) -> list[bytes] | None:
        """A finished part's answers, one per input line; None when it has no output."""
        with _aws("read the job's outputs from S3"):
            from botocore.exceptions import ClientError

            try:
                body = self.s3.get_object(Bucket=plan.prefix.bucket,
                                          Key=plan.output_key(shard))["Body"].read()
            except ClientError as exc:
                if _code(exc) in ("404", "NoSuchKey"):
                    return None
                raise
            return [line for line in bytes(body).split(b"\n") if line.strip()]


def _code(exc: Any) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def _message(exc: Any) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Message", "")) or str(exc)


@contextmanager
def _aws(action: str) -> Iterator[None]:
    """Errors of S3 or the control plane not handled on the spot, as BackendUnavailable: a
    batch stops, resumable, with a message instead of a traceback."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except BackendError:
        raise
    except ClientError as exc:
        if _code(exc) in ("403", "AccessDenied", "AccessDeniedException"):
            raise BackendUnavailable(f"Your AWS identity may not {action}: "
                                     f"{_message(exc)}") from None
        raise BackendUnavailable(f"Could not {action}: {_message(exc)}") from None
    except BotoCoreError as exc:
        raise BackendUnavailable(f"Could not {action}: {exc}") from None


def error_line(raw: bytes) -> str:
    """A short reason from an output line that is an error object rather than images."""
    try:
        answer = json.loads(raw)
    except ValueError:
        return ""
    if isinstance(answer, dict) and "generated_images" not in answer:
        return str(answer.get("message") or answer.get("error") or "")[:500]
    return ""


@dataclass(frozen=True)
class Price:
    usd_per_hour: float
    source: str


class TransformService:
    """What a batch needs to run on Batch Transform: the jobs client, the model and fleet it
    runs on, the payload format and the hourly price (None: unknown, costs stay 0)."""

    def __init__(self, jobs: TransformJobs, *, model_name: str, instance_type: str,
                 instances: int, payload_format: str = "studio", region: str = "",
                 price: Price | None = None) -> None:
        if payload_format not in payloads.FORMATS:
            raise InvalidRequest(f"The SageMaker payload format must be one of "
                                 f"{', '.join(payloads.FORMATS)} (got {payload_format!r}).")
        if instances < 1:
            raise InvalidRequest("--instances must be at least 1.")
        self.jobs = jobs
        self.model_name = model_name
        self.instance_type = instance_type
        self.instances = instances
        self.payload_format = payload_format
        self.region = region
        self.price = price

    @property
    def fleet(self) -> str:
        return f"{self.instances} × {self.instance_type}"

    def check(self) -> None:
        self.jobs.check_bucket()
        self.jobs.check_model(self.model_name)

    def plan(self, job_name: str, shards: list[str]) -> TransformPlan:
        return TransformPlan(job_name, self.model_name, self.instance_type, self.instances,
                             self.jobs.prefix, tuple(shards))

    def line(self, request: GenerationRequest, seed: int) -> bytes:
        return request_line(request, seed, self.payload_format)

    def seconds_per_image(self, request: GenerationRequest) -> float:
        return seconds_per_image(request, self.instance_type)

    def job_name(self, token: str, batch_id: int, counter: int) -> str:
        return job_name(token, batch_id, counter)

    def shard_sizes(self, lines: int) -> list[int]:
        return shard_sizes(lines, self.instances)

    def shard_name(self, index: int) -> str:
        return shard_name(index)

    def error_line(self, raw: bytes) -> str:
        return error_line(raw)

    def job_usd(self, status: JobStatus) -> float:
        """What a finished job cost: its instance-seconds at the hourly price (0: unknown)."""
        return 0.0 if self.price is None else status.instance_seconds * \
            self.price.usd_per_hour / 3600

    def line_cost(self, status: JobStatus, lines: int) -> Cost:
        """One line's even share of the job's cost, and how it was reached."""
        seconds = status.instance_seconds
        fleet = f"{status.instances or self.instances} × " \
                f"{status.instance_type or self.instance_type}"
        if self.price is None:
            return Cost(0.0, f"Batch Transform job {status.name}: {seconds:.0f} "
                             f"instance-seconds of {fleet}; no price is known for "
                             f"{self.instance_type} here, so add it to the price book "
                             "(resources/prices/sagemaker.json)", estimated=True)
        usd = self.job_usd(status)
        return Cost(usd / max(1, lines),
                    f"1/{lines} of Batch Transform job {status.name}: {seconds:.0f} "
                    f"instance-seconds of {fleet} at ${self.price.usd_per_hour:.3f}/h "
                    f"({self.price.source}) = ${usd:.4f}", estimated=False)

    def result(self, raw: bytes, request: GenerationRequest, seed: int,
               cost: Cost) -> GenerationResult:
        return result_from_line(raw, request, seed, self.payload_format, cost=cost,
                                fleet=self.fleet)


def open_transform(*, profile: str, region: str, s3_uri: str, model_name: str,
                   instance_type: str, instances: int, payload_format: str = "studio",
                   price_for: Any = None, s3_endpoint_url: str = "") -> TransformService:
    """A TransformService on boto3 clients for the profile and region (S3 at
    `s3_endpoint_url` when given: a local moto server). `price_for(instance type, region)`
    gives the hourly Price, or None when unknown."""
    from backends.sagemaker.session import control_config, make_session, resolve_region

    prefix = S3Prefix.parse(s3_uri)
    session = make_session(profile, region)
    resolved = resolve_region(session, region)
    jobs = TransformJobs(session.client("sagemaker", region_name=resolved,
                                        config=control_config()),
                         session.client("s3", region_name=resolved, config=control_config(),
                                        endpoint_url=s3_endpoint_url or None),
                         prefix)
    price = price_for(instance_type, resolved) if price_for is not None else None
    return TransformService(jobs, model_name=model_name, instance_type=instance_type,
                            instances=instances, payload_format=payload_format,
                            region=resolved, price=price)
