"""What can go wrong talking to a SageMaker endpoint, in words a designer can act on.

Each class sits under one of the shared error kinds (InvalidRequest, BackendUnavailable,
GenerationFailed, TransientError), so callers that only know those still react correctly. A
TransientError says whether the lost attempt may have been billed (`maybe_billed`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    IncompleteReadError,
    NoRegionError,
    ReadTimeoutError,
    ResponseStreamingError,
)

from backends.aws_credentials import CredentialsProblem, credentials_problem, login_hint
from backends.errors import (
    BackendError,
    BackendUnavailable,
    GenerationFailed,
    InvalidRequest,
    TransientError,
)


class EndpointNotFound(BackendUnavailable):
    pass


class EndpointNotInService(BackendUnavailable):
    def __init__(self, message: str, status: str = "") -> None:
        super().__init__(message)
        self.status = status


class EndpointUnreachable(BackendUnavailable, TransientError):
    """No connection could be made, so nothing was sent or billed: a retry is safe, and if the
    endpoint stays unreachable the backend is unavailable (a batch stops, resumable)."""


class EndpointModelError(GenerationFailed):
    """The model container failed on a valid request (out of memory, a crash, a bad model).
    That request fails; the next one may not, so a batch goes on."""


class EndpointThrottled(TransientError):
    pass


class EndpointTimeout(TransientError):
    pass


_DENIED = {"AccessDenied", "AccessDeniedException"}
_THROTTLED = {"ThrottlingException", "Throttling", "TooManyRequestsException",
              "ModelNotReadyException", "429"}
_SERVICE = {"ServiceUnavailable", "InternalFailure", "InternalDependencyException",
            "InternalServerError", "500", "502", "503", "504"}


@dataclass(frozen=True)
class Target:
    """Which endpoint a call was for, to name it in messages."""

    endpoint_name: str
    region: str = ""
    profile: str = ""
    endpoint_url: str = ""
    read_timeout_s: float = 70.0

    @property
    def where(self) -> str:
        if self.endpoint_url:
            return f"at {self.endpoint_url}"
        return f"in {self.region}" if self.region else "in your default region"

    @property
    def login_hint(self) -> str:
        return login_hint(self.profile)


def map_error(exc: Exception, target: Target, *, action: str = "call") -> BackendError:
    """Turn a botocore exception into a BackendError whose message says what to do."""
    name = target.endpoint_name
    if isinstance(exc, BackendError):
        return exc
    credentials = credentials_problem(exc, target.profile)
    if credentials is not None:
        return credentials
    if isinstance(exc, NoRegionError):
        return BackendUnavailable("No AWS region is set. Choose the endpoint's region in "
                                  "Settings → SageMaker or pass --region.")
    if isinstance(exc, ReadTimeoutError):
        return EndpointTimeout(
            f"Read timeout after the request was sent: endpoint {name} did not answer within "
            f"{target.read_timeout_s:g} s. The endpoint may have finished (and billed) the "
            "work anyway. SageMaker stops a request after 60 s: use fewer steps, a smaller "
            "size or fewer images.", maybe_billed=True)
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError):
        hint = ("If it is `studio endpoint serve`, check that it is running."
                if target.endpoint_url else "Check your network connection or VPN.")
        return EndpointUnreachable(f"Could not connect to SageMaker {target.where} for "
                                   f"endpoint {name}. {hint}")
    if isinstance(exc, ConnectionClosedError):
        # botocore cannot say whether the body had been sent, so it may have been.
        return TransientError(f"The connection to endpoint {name} was reset after the request "
                              "was sent, before its answer arrived: the endpoint may have "
                              "made (and billed) the image.", maybe_billed=True)
    if isinstance(exc, ResponseStreamingError | IncompleteReadError):
        return TransientError(f"The answer of endpoint {name} was cut off on its way back: the "
                              "image was made (and billed) but could not be read.",
                              maybe_billed=True)
    if isinstance(exc, ClientError):
        return _map_client_error(exc, target, action)
    if isinstance(exc, BotoCoreError):
        return BackendUnavailable(f"Could not {action} endpoint {name}: {exc}")
    raise exc


def _map_client_error(exc: ClientError, target: Target, action: str) -> BackendError:
    name = target.endpoint_name
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    message = str(error.get("Message", "")) or str(exc)
    if code in _DENIED:
        return CredentialsProblem(
            f"Your AWS identity is not allowed to {action} endpoint {name} ({message}). Ask "
            "your AWS administrator for sagemaker:InvokeEndpoint (and sagemaker:Describe* for "
            "Test connection) on it.")
    validation = code in ("ValidationError", "ValidationException")
    if validation and ("not found" in message.lower() or "could not find" in message.lower()):
        return EndpointNotFound(
            f"There is no SageMaker endpoint {name!r} {target.where}. Check the name and the "
            "region in Settings → SageMaker, or deploy one with `studio endpoint deploy`.")
    if validation:
        return InvalidRequest(f"SageMaker refused the request to endpoint {name}: {message}")
    if code == "413":
        return InvalidRequest("The request is larger than SageMaker's 6 MB limit. Use a "
                              "smaller init image.")
    if code in _THROTTLED:
        return EndpointThrottled(
            f"Endpoint {name} is busy or throttled ({code}). Wait a few seconds and try again, "
            "or give the endpoint more instances.")
    if code == "ModelError":
        return _map_model_error(exc, target)
    if code in _SERVICE:
        return TransientError(f"SageMaker had a temporary problem ({code}: {message}). Try "
                              "again in a moment.")
    return BackendUnavailable(f"SageMaker answered {code or 'an error'} for endpoint {name}: "
                              f"{message}")


def _map_model_error(exc: ClientError, target: Target) -> BackendError:
    response = exc.response
    original = str(response.get("OriginalMessage") or "")
    inner = _inner_message(original) or str(response.get("Error", {}).get("Message", ""))
    marker = "Invalid request:"
    if marker in inner:
        return InvalidRequest("The endpoint refused the request: "
                              + inner.split(marker, 1)[1].strip())
    if "timed out" in inner.lower():
        # The container worked for 60 s on it, and that endpoint time is paid.
        return EndpointTimeout(
            f"Endpoint {target.endpoint_name} took longer than SageMaker's 60 s limit; the "
            "time it worked is billed. Use fewer steps, a smaller size or fewer images.",
            maybe_billed=True)
    logs = response.get("LogStreamArn") or (
        f"CloudWatch log group /aws/sagemaker/Endpoints/{target.endpoint_name}")
    status = response.get("OriginalStatusCode")
    return EndpointModelError(
        f"The model on endpoint {target.endpoint_name} failed"
        f"{f' (status {status})' if status else ''}: {inner or 'no message'}. Details are in "
        f"{logs}.")


def _inner_message(original: str) -> str:
    """The container's message: ours and the toolkit's are JSON with a "message" field."""
    try:
        data = json.loads(original)
    except ValueError:
        return original
    if isinstance(data, dict):
        return str(data.get("message") or data.get("Message") or data.get("error") or original)
    return original


def _for_profile(target: Target) -> str:
    return f" for profile {target.profile!r}" if target.profile else ""
