"""SageMaker Asynchronous Inference, emulated for `studio endpoint serve --s3-endpoint-url`.

What AWS does for `InvokeEndpointAsync`, against any S3 endpoint (a local moto server in
tests and offline trials):
- the request names an input object (`X-Amzn-SageMaker-InputLocation`); the answer is 202 at
  once, with the inference id in the body and the output and failure locations in headers;
- in the background, requests are served in arrival order: the input is read from S3, the
  container runs it (the same `invoke` as POST /invocations), and the result is written to
  `<output path>/<id>.out`, or the error to `<failure path>/<id>-error.out`.

Unlike AWS, the queue lives in this process: stopping the server loses requests not yet
written (AWS keeps them for the request's TTL, 6 hours by default).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)

_S3_URL = re.compile(r"s3://([a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])/(.+)")
_INFERENCE_ID = re.compile(r"[A-Za-z0-9_.:\-]{1,64}")
ERROR_SUFFIX = "-error.out"


class Answered(Protocol):
    status: int
    body: bytes


@dataclass(frozen=True)
class Accepted:
    """The 202 answer: the id, and where the result or the failure will appear."""

    inference_id: str
    output_location: str
    failure_location: str


class AsyncRequestError(ValueError):
    """A request AWS would refuse with a 400 ValidationError; the message says why."""


def split_s3_url(url: str) -> tuple[str, str]:
    match = _S3_URL.fullmatch(url)
    if match is None:
        raise AsyncRequestError(f"{url!r} is not an s3://BUCKET/KEY location.")
    return match.group(1), match.group(2)


def split_s3_prefix(url: str) -> tuple[str, str]:
    """(bucket, prefix without slashes at either end) of s3://BUCKET[/PREFIX]."""
    bucket, key = split_s3_url(url.rstrip("/") + "/-")
    return bucket, key[:-1].strip("/")


class AsyncInvocations:
    """Accepts async requests and serves them one at a time in the background.

    `invoke(body, content_type, accept)` is the container's answer to one request;
    `output_path` and `failure_path` are s3:// prefixes, as in an async endpoint config.
    Without `output_path`, each result goes to s3://<its input's bucket>/async-output.
    """

    def __init__(self, s3: Any, invoke: Callable[[bytes, str, str], Answered], *,
                 output_path: str = "", failure_path: str = "") -> None:
        self.s3 = s3
        self.invoke = invoke
        self.output = split_s3_prefix(output_path) if output_path else None
        failure_path = failure_path or (output_path.rstrip("/") + "/failures"
                                        if output_path else "")
        self.failure = split_s3_prefix(failure_path) if failure_path else None
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="endpoint-async")
        self._pending = 0
        self._lock = threading.Lock()
        self.accepted = 0  # requests answered 202: each one runs (and on AWS, bills) once
        self.completed = 0
        self.failed = 0

    @property
    def pending(self) -> int:
        """Requests accepted and not yet written: the endpoint's backlog."""
        with self._lock:
            return self._pending

    def accept(self, input_location: str, content_type: str, accept: str,
               inference_id: str = "") -> Accepted:
        """Check the request as AWS does before answering 202, then queue it."""
        if not input_location:
            raise AsyncRequestError("InputLocation is required for asynchronous invocations.")
        bucket, key = split_s3_url(input_location)
        if inference_id and not _INFERENCE_ID.fullmatch(inference_id):
            raise AsyncRequestError("InferenceId must be 1-64 letters, digits, '_', '.', ':' "
                                    "or '-'.")
        try:
            self.s3.head_object(Bucket=bucket, Key=key)
        except Exception:
            raise AsyncRequestError(f"Could not access the input object at {input_location}: "
                                    "check that it exists and the endpoint may read it."
                                    ) from None
        inference_id = inference_id or str(uuid.uuid4())
        output = self.output or (bucket, "async-output")
        failure = self.failure or (output[0], f"{output[1]}/failures".lstrip("/"))
        accepted = Accepted(inference_id, self._url(output, f"{inference_id}.out"),
                            self._url(failure, f"{inference_id}{ERROR_SUFFIX}"))
        with self._lock:
            self._pending += 1
            self.accepted += 1
        self._worker.submit(self._serve, bucket, key, content_type, accept, accepted)
        return accepted

    def close(self) -> None:
        self._worker.shutdown(wait=False, cancel_futures=True)

    def _serve(self, bucket: str, key: str, content_type: str, accept: str,
               accepted: Accepted) -> None:
        try:
            body = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            answer = self.invoke(body, content_type, accept)
            if answer.status < 400:
                self._put(accepted.output_location, answer.body)
                self.completed += 1
            else:
                self._put(accepted.failure_location, _failure_text(answer))
                self.failed += 1
        except Exception as exc:  # the worker must survive any one request
            log.exception("Async request %s failed", accepted.inference_id)
            try:
                self._put(accepted.failure_location,
                          f"{type(exc).__name__}: {exc}".encode())
            except Exception:
                log.exception("Could not write the failure of %s", accepted.inference_id)
            self.failed += 1
        finally:
            with self._lock:
                self._pending -= 1

    def _put(self, url: str, data: bytes) -> None:
        bucket, key = split_s3_url(url)
        self.s3.put_object(Bucket=bucket, Key=key, Body=data)

    @staticmethod
    def _url(place: tuple[str, str], name: str) -> str:
        bucket, prefix = place
        return f"s3://{bucket}/{prefix + '/' if prefix else ''}{name}"


def _failure_text(answer: Answered) -> bytes:
    """The container's error message, as SageMaker writes it to the failure object."""
    try:
        payload = json.loads(answer.body)
        message = payload.get("message") or payload.get("Message") or answer.body.decode()
    except (ValueError, AttributeError):
        message = answer.body.decode("utf-8", "replace")
    return f"Received server error ({answer.status}) from model with message "\
           f'"{message}".'.encode()
