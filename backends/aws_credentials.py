"""AWS credential failures, told the same way by every AWS backend.

boto3 finds credentials (profile, SSO, environment, instance role); Studio only ever names a
profile. When that chain fails, the user needs to know which profile and the command that fixes
it, whichever service the call was for.
"""

from __future__ import annotations

from botocore.exceptions import (
    ClientError,
    CredentialRetrievalError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
    SSOError,
    TokenRetrievalError,
)

from backends.errors import BackendUnavailable

EXPIRED_CODES = {"ExpiredToken", "ExpiredTokenException", "RequestExpired"}
REJECTED_CODES = {"UnrecognizedClientException", "InvalidSignatureException",
                  "InvalidClientTokenId", "IncompleteSignature", "SignatureDoesNotMatch"}


class CredentialsProblem(BackendUnavailable):
    """No, expired or rejected AWS credentials, or a profile that does not exist."""


def login_hint(profile: str) -> str:
    return f"aws sso login --profile {profile}" if profile else "aws sso login"


def credentials_problem(exc: Exception, profile: str) -> CredentialsProblem | None:
    """The CredentialsProblem `exc` amounts to, or None when it is about something else."""
    login = login_hint(profile)
    for_profile = f" for profile {profile!r}" if profile else ""
    if isinstance(exc, ProfileNotFound):
        return CredentialsProblem(
            f"The AWS profile {profile!r} is not in your AWS config (~/.aws/config). Choose an "
            f"existing profile in Settings, or create it with: aws configure sso --profile "
            f"{profile}")
    if isinstance(exc, SSOError | TokenRetrievalError):
        return CredentialsProblem(
            f"Your AWS SSO session{for_profile} has expired or was never started. Sign in "
            f"again with: {login}")
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return CredentialsProblem(
            f"No AWS credentials were found{for_profile}. Sign in with: {login} (or run "
            "'aws configure'), or choose another profile in Settings.")
    if isinstance(exc, CredentialRetrievalError):
        return CredentialsProblem(f"AWS credentials could not be loaded{for_profile} ({exc}). "
                                  f"Sign in again with: {login}")
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in EXPIRED_CODES:
            return CredentialsProblem(f"Your AWS credentials{for_profile} have expired. Sign "
                                      f"in again with: {login}")
        if code in REJECTED_CODES:
            return CredentialsProblem(
                f"AWS did not accept your credentials{for_profile} ({code}). Sign in again "
                f"with: {login}, or check the region and this computer's clock.")
    return None
