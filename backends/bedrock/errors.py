"""Bedrock's failures as the shared BackendError kinds, with messages a designer can act on.

The subclasses let the Settings dialog and tests tell the cases apart; everything else only
needs the shared base classes (InvalidRequest, BackendUnavailable, TransientError).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoRegionError,
    ReadTimeoutError,
)

from backends.aws_credentials import credentials_problem
from backends.errors import BackendError, BackendUnavailable, InvalidRequest, TransientError


class ModelAccessDenied(BackendUnavailable):
    """The account, role or region has not been granted this model."""


class ModelNotAvailable(BackendUnavailable):
    """The model is not offered in this region, or the id is not one Bedrock knows."""


class ModelRetired(InvalidRequest):
    """The model has reached its end of life on Bedrock: no request to it can succeed."""


class ContentFiltered(InvalidRequest):
    """Bedrock's content filter blocked the prompt, an input image or the generated image."""


class RequestRejected(InvalidRequest):
    """Bedrock's own validation refused the request body."""


class Throttled(TransientError):
    """The account's request quota for the model is used up for now, even after retrying."""


@dataclass(frozen=True)
class Target:
    """Where a call went, so a message can name the model, region and profile."""

    model_id: str
    model_label: str
    region: str
    profile: str = ""
    endpoint_url: str = ""
    offered_in: tuple[str, ...] = ()
    retired_message: str = ""  # what to say if Bedrock answers that the model is retired

    @property
    def where(self) -> str:
        return self.endpoint_url or f"Amazon Bedrock in {self.region or 'the default region'}"


_CONTENT_FILTER = re.compile(r"content filter|responsible ai", re.IGNORECASE)
_MODEL_ID_PROBLEM = re.compile(
    r"model identifier is invalid|on-demand throughput|not supported in this region|"
    r"model is not supported", re.IGNORECASE)
_END_OF_LIFE = re.compile(r"end of (its |the )?life|\blegacy model\b.*no longer", re.IGNORECASE)
_SERVICE_TROUBLE = {"ModelTimeoutException", "ModelNotReadyException",
                    "InternalServerException", "ServiceUnavailableException",
                    "ModelErrorException", "ModelStreamErrorException"}
_THROTTLING = {"ThrottlingException", "ServiceQuotaExceededException", "TooManyRequestsException"}


def map_aws_error(exc: Exception, target: Target) -> BackendError:
    """The BackendError to raise for a botocore/boto3 failure while calling `target`."""
    credentials = credentials_problem(exc, target.profile)
    if credentials is not None:
        return credentials
    if isinstance(exc, ClientError):
        return _client_error(exc, target)
    if isinstance(exc, NoRegionError):
        return BackendUnavailable("Choose an AWS region for Bedrock in Settings "
                                  "(for example us-east-1).")
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError):
        return TransientError(f"Could not reach {target.where} ({exc}). Check the network, "
                              "VPN or proxy, and the endpoint URL in Settings.")
    if isinstance(exc, ConnectionClosedError):  # the request may have been sent and billed
        return TransientError(f"The connection to {target.where} was reset before the answer "
                              "came; the image may have been made (and billed).",
                              maybe_billed=True)
    if isinstance(exc, ReadTimeoutError):
        return TransientError(f"{target.model_label} on {target.where} did not answer in time; "
                              "it may still have finished (and been billed). Try again, or "
                              "with fewer or smaller images.", maybe_billed=True)
    if isinstance(exc, BotoCoreError):
        return BackendUnavailable(f"Calling {target.where} failed: {exc}")
    raise TypeError(f"not an AWS error: {exc!r}")


def _client_error(exc: ClientError, target: Target) -> BackendError:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    message = str(error.get("Message", "")).strip() or code
    model = f"{target.model_label} ({target.model_id})"
    if code == "AccessDeniedException":
        return ModelAccessDenied(
            f"This AWS account or role may not use {model} in {target.region}: {message} "
            f"Open the Bedrock console in {target.region}, go to Model access and request "
            f"{target.model_label} (Stability models also need the AWS Marketplace offer "
            "accepted), or ask your AWS administrator to allow bedrock:InvokeModel on it.")
    if code in ("ResourceNotFoundException", "ValidationException") and _END_OF_LIFE.search(
            message):
        return ModelRetired(target.retired_message or
                            f"{model} has reached its end of life on Bedrock: {message} Choose "
                            "an active model in Settings.")
    if code == "ResourceNotFoundException" or (
            code == "ValidationException" and _MODEL_ID_PROBLEM.search(message)):
        return ModelNotAvailable(f"{model} is not available in {target.region}: {message}"
                                 f"{_regions_hint(target)}")
    if code == "ValidationException" and _CONTENT_FILTER.search(message):
        return ContentFiltered(f"Bedrock's content filter stopped this generation: {message} "
                               "Rephrase the prompt or use another input image.")
    if code == "ValidationException":
        return RequestRejected(f"Bedrock refused the request for {model}: {message}")
    if code in _THROTTLING:
        attempts = int(exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0)) + 1
        return Throttled(
            f"Bedrock is throttling {target.model_label} in {target.region} ({message}); "
            f"gave up after {attempts} attempt{'s' if attempts != 1 else ''}. Image models have "
            "small per-minute quotas: wait a minute, generate fewer images at once, or ask "
            "for a higher quota in Service Quotas.")
    if code in _SERVICE_TROUBLE or _status(exc) >= 500:
        return TransientError(f"{target.model_label} on Bedrock failed for a passing reason "
                              f"({code}: {message}). Try again in a moment.")
    return BackendUnavailable(f"Bedrock answered {code or _status(exc)}: {message}")


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


def _for_profile(target: Target) -> str:
    return f" for profile {target.profile!r}" if target.profile else ""


def _regions_hint(target: Target) -> str:
    if not target.offered_in:
        return ""
    return (f" {target.model_label} is offered in {', '.join(target.offered_in)}; choose one "
            "of those regions in Settings.")


def stability_finish_error(reason: str) -> BackendError:
    """Stability models report filtering in the body (`finish_reasons`), with HTTP 200."""
    blocked = {"Filter reason: prompt": "the prompt",
               "Filter reason: output image": "the generated image",
               "Filter reason: input image": "the input image"}.get(reason)
    if blocked is not None:
        return ContentFiltered(f"Bedrock's content filter blocked {blocked} ({reason}). "
                               "Rephrase the prompt or use another input image.")
    return TransientError(f"The Stability model did not finish the image ({reason}). "
                          "Try again.")
