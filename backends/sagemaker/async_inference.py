"""Client side of SageMaker Asynchronous Inference: put a request in S3, submit it, poll S3.

`submit` writes the request body to `<s3 prefix>/requests/<key>.json`, then calls
InvokeEndpointAsync, which answers at once with where the result (or the failure) will
appear. `poll` looks there; it never submits again. The batch runner records what `submit`
returned before doing anything else, so a resumed batch polls work in flight rather than
paying for it twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from backends.aws_credentials import CredentialsProblem
from backends.errors import InvalidRequest
from backends.sagemaker import payloads
from backends.sagemaker.errors import EndpointNotInService, Target, map_error
from backends.sagemaker.status import EndpointStatus, describe_endpoint
from backends.types import Cost, GeneratedImage, GenerationRequest, GenerationResult, Timings

_S3 = re.compile(r"s3://([a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])(?:/(.*))?")
_KEY = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class S3Prefix:
    bucket: str
    prefix: str  # no slash at either end; "" for the bucket's root

    @classmethod
    def parse(cls, url: str) -> S3Prefix:
        match = _S3.fullmatch(url.strip())
        if match is None:
            raise InvalidRequest(f"--s3-uri must be s3://BUCKET[/PREFIX] (got {url!r}).")
        return cls(match.group(1), (match.group(2) or "").strip("/"))

    def key(self, *parts: str) -> str:
        return "/".join(part for part in (self.prefix, *parts) if part)

    def url(self, *parts: str) -> str:
        return f"s3://{self.bucket}/{self.key(*parts)}"


@dataclass(frozen=True)
class Submitted:
    inference_id: str
    input_location: str
    output_location: str
    failure_location: str


@dataclass(frozen=True)
class Polled:
    state: str  # "pending", "done" or "failed"
    body: bytes = b""
    message: str = ""


def split_s3_url(url: str) -> tuple[str, str]:
    match = _S3.fullmatch(url)
    if match is None or not match.group(2):
        raise InvalidRequest(f"{url!r} is not an s3://BUCKET/KEY location.")
    return match.group(1), match.group(2)


def request_key(name: str) -> str:
    """An S3-safe object name for a request (a SKU and variant, say)."""
    cleaned = _KEY.sub("_", name).strip("._-")[:200]
    if not cleaned:
        raise InvalidRequest(f"{name!r} gives no usable S3 object name.")
    return cleaned


class AsyncEndpoint:
    """Submits requests to one asynchronous endpoint and polls their results.

    `runtime` is a sagemaker-runtime client and `s3` an S3 client (from boto3's own
    credential chain); `prefix` is where request bodies are written. `control` (a sagemaker
    client) is None for an endpoint URL (`studio endpoint serve`, a VPC endpoint), which
    serves the runtime only.
    """

    def __init__(self, runtime: Any, s3: Any, endpoint: str, prefix: S3Prefix, *,
                 control: Any = None, target: Target | None = None) -> None:
        self.runtime = runtime
        self.s3 = s3
        self.endpoint = endpoint
        self.prefix = prefix
        self.control = control
        self.target = target or Target(endpoint)

    @classmethod
    def open(cls, endpoint: str, prefix: S3Prefix, *, region: str = "", profile: str = "",
             endpoint_url: str = "", s3_endpoint_url: str = "") -> AsyncEndpoint:
        """Clients from boto3's credential chain. The runtime client makes one attempt per
        call: a retried InvokeEndpointAsync could queue (and bill) the request twice. S3 is
        found as boto3 finds it (AWS_ENDPOINT_URL_S3 too) unless `s3_endpoint_url` says."""
        from backends.sagemaker.session import (
            control_config,
            make_session,
            resolve_region,
            runtime_config,
        )

        session = make_session(profile, region)
        region = resolve_region(session, region, endpoint_url)
        target = Target(endpoint, region, profile, endpoint_url)
        try:
            runtime = session.client("sagemaker-runtime", region_name=region,
                                     endpoint_url=endpoint_url or None,
                                     config=runtime_config(60.0))
            s3 = session.client("s3", region_name=region, endpoint_url=s3_endpoint_url or None)
            control = None if endpoint_url else session.client(
                "sagemaker", region_name=region, config=control_config())
        except Exception as exc:
            raise map_error(exc, target) from exc
        return cls(runtime, s3, endpoint, prefix, control=control, target=target)

    def check_bucket(self) -> None:
        """Refuse a missing, unreadable or other-region bucket before anything is submitted."""
        from botocore.exceptions import BotoCoreError, ClientError

        bucket = self.prefix.bucket
        try:
            self.s3.head_bucket(Bucket=bucket)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("404", "NoSuchBucket"):
                raise InvalidRequest(f"The S3 bucket {bucket} does not exist "
                                     "(or is in another account): create it or fix --s3-uri."
                                     ) from None
            if code in ("403", "AccessDenied"):
                raise CredentialsProblem(f"Your AWS identity may not use the S3 bucket "
                                         f"{bucket}: it needs s3:ListBucket, s3:PutObject and "
                                         "s3:GetObject there.") from None
            if code in ("301", "PermanentRedirect", "AuthorizationHeaderMalformed"):
                headers = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
                other = headers.get("x-amz-bucket-region", "another region")
                raise InvalidRequest(f"The S3 bucket {bucket} is in {other}, not "
                                     f"{self.target.region or 'this region'}: an async "
                                     "endpoint reads and writes S3 in its own region. Use a "
                                     "bucket there or pass --region.") from None
            raise map_error(exc, self.target, action="use S3 for") from None
        except BotoCoreError as exc:
            raise map_error(exc, self.target, action="use S3 for") from None

    def describe(self) -> EndpointStatus | None:
        """The endpoint's state, fleet and async output from the control plane; None for an
        endpoint URL. Refuses an endpoint that is not asynchronous or not InService."""
        if self.control is None:
            return None
        try:
            status = describe_endpoint(self.control, self.endpoint)
        except Exception as exc:
            raise map_error(exc, self.target, action="describe") from exc
        if not status.async_output:
            raise InvalidRequest(f"Endpoint {self.endpoint} is a real-time endpoint (its config "
                                 "has no AsyncInferenceConfig): use --mode realtime, or deploy "
                                 "an async one with `studio endpoint deploy … --async "
                                 "--s3-output s3://…`.")
        if not status.in_service:
            raise EndpointNotInService(f"Endpoint {self.endpoint} is {status.status}, not "
                                       "InService; try again once it is.", status.status)
        return status

    def write_request(self, name: str, body: bytes) -> str:
        """Put the request body in S3; its s3:// location."""
        key = self.prefix.key("requests", f"{request_key(name)}.json")
        try:
            self.s3.put_object(Bucket=self.prefix.bucket, Key=key, Body=body,
                               ContentType="application/json")
        except Exception as exc:
            raise map_error(exc, self.target, action="write a request for") from exc
        return f"s3://{self.prefix.bucket}/{key}"

    def submit(self, input_location: str, *, inference_id: str = "",
               content_type: str = "application/json",
               accept: str = "application/json") -> Submitted:
        """InvokeEndpointAsync for a request already in S3. Once this returns, the request is
        queued and will be billed: record the answer before anything else."""
        extra = {"InferenceId": inference_id} if inference_id else {}
        try:
            answer = self.runtime.invoke_endpoint_async(
                EndpointName=self.endpoint, InputLocation=input_location,
                ContentType=content_type, Accept=accept, **extra)
        except Exception as exc:
            raise map_error(exc, self.target, action="submit to") from exc
        return Submitted(str(answer["InferenceId"]), input_location,
                         str(answer.get("OutputLocation", "")),
                         str(answer.get("FailureLocation", "")))

    def ready(self, locations: list[str]) -> set[str]:
        """Which of these s3:// objects exist, by one ListObjectsV2 walk per folder rather
        than a request per object: thousands in flight cost a few requests a round."""
        folders: dict[tuple[str, str], set[str]] = {}
        for location in locations:
            if not location:
                continue
            bucket, key = split_s3_url(location)
            folder = key.rsplit("/", 1)[0] + "/" if "/" in key else ""
            folders.setdefault((bucket, folder), set()).add(key)
        found: set[str] = set()
        for (bucket, folder), keys in folders.items():
            try:
                pages = self.s3.get_paginator("list_objects_v2").paginate(
                    Bucket=bucket, Prefix=folder, Delimiter="/")
                for page in pages:
                    for entry in page.get("Contents", []):
                        if entry["Key"] in keys:
                            found.add(f"s3://{bucket}/{entry['Key']}")
            except Exception as exc:
                raise map_error(exc, self.target, action="read the results of") from exc
        return found

    def read(self, location: str) -> bytes | None:
        """The object's bytes; None when it is not there (yet)."""
        from botocore.exceptions import ClientError

        if not location:
            return None
        bucket, key = split_s3_url(location)
        try:
            return bytes(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code", "")) in ("404", "NoSuchKey"):
                return None
            raise map_error(exc, self.target, action="read the results of") from exc
        except Exception as exc:
            raise map_error(exc, self.target, action="read the results of") from exc

    def poll(self, submitted: Submitted) -> Polled:
        """The result if it is there, the failure if that is, else pending."""
        body = self.read(submitted.output_location)
        if body is not None:
            return Polled("done", body)
        failure = self.read(submitted.failure_location)
        if failure is not None:
            return Polled("failed", message=failure.decode("utf-8", "replace")[:2000])
        return Polled("pending")


class AsyncPayloads:
    """Requests and answers of an async endpoint in the SageMaker backend's own formats
    (payloads.py), so an async batch sends exactly what a real-time one would."""

    def __init__(self, payload_format: str = "studio") -> None:
        if payload_format not in payloads.FORMATS:
            raise InvalidRequest(f"The SageMaker payload format must be one of "
                                 f"{', '.join(payloads.FORMATS)} (got {payload_format!r}).")
        self.payload_format = payload_format

    def encode(self, request: GenerationRequest) -> payloads.Encoded:
        """One invocation for all of the request's images (an async body may be 1 GB)."""
        request = request.with_resolved_seed()
        return payloads.encode(request, request.image_seeds(), self.payload_format)

    def result(self, request: GenerationRequest, data: bytes, *, cost: Cost, waited_s: float,
               model: str, device: str) -> GenerationResult:
        """The GenerationResult of an output read from S3. `waited_s`: from submission to the
        output being found, which covers the backlog's wait and the polling interval."""
        request = request.with_resolved_seed()
        decoded = payloads.decode(data, self.payload_format, request.image_seeds())
        sent = payloads.sent_request(request, self.payload_format)
        ran = sent.replace(
            steps=decoded.steps if decoded.steps is not None else sent.steps,
            guidance=decoded.guidance if decoded.guidance is not None else sent.guidance,
            speed=decoded.speed or sent.speed)
        server = decoded.server or payloads.ServerTimings()
        timings = Timings(queue_s=max(0.0, waited_s - server.total_s),
                          inference_s=server.inference_s, decode_s=server.encode_s,
                          total_s=waited_s)
        images = tuple(GeneratedImage(image, seed)
                       for image, seed in zip(decoded.images, decoded.seeds, strict=True))
        return GenerationResult(
            request=ran, images=images, timings=timings, cost=cost, backend="sagemaker",
            model=decoded.model or request.model or model,
            device=f"{device} ({decoded.device})" if decoded.device else device,
            family=decoded.family, licence=decoded.licence,
            commercial_use=decoded.commercial_use, accelerations=decoded.accelerations)
