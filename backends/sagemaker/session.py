"""boto3 sessions and client configuration for SageMaker.

Credentials are boto3's business: the session resolves them from the profile (SSO included),
the environment or an instance role. Studio passes a profile *name* at most, and never reads,
stores or logs a credential.
"""

from __future__ import annotations

from typing import Any

from botocore.config import Config

from backends.errors import BackendUnavailable

# SageMaker stops waiting for a container after 60 s. AWS advises a 70 s socket timeout so its
# own timeout answer arrives before ours does.
DEFAULT_READ_TIMEOUT_S = 70.0
# When an endpoint URL is given but no region, requests are still signed, with this region.
SIGNING_REGION_FOR_URL = "us-east-1"


def runtime_config(read_timeout_s: float = DEFAULT_READ_TIMEOUT_S) -> Config:
    """For InvokeEndpoint. One attempt only: botocore retries read timeouts and 5xx answers
    too, and each retry would run (and bill) the whole generation again after the first
    result was lost. Throttling is reported as a TransientError for the user or the job queue
    to retry knowingly. (`total_max_attempts`, not `max_attempts`: botocore reads the latter
    as retries *after* the first attempt, so max_attempts=1 would still send it twice.)"""
    return Config(connect_timeout=10, read_timeout=read_timeout_s,
                  retries={"total_max_attempts": 1, "mode": "standard"}, tcp_keepalive=True,
                  user_agent_extra="studio")


def control_config() -> Config:
    """For the control plane (describe/create/delete): cheap calls, safe to retry."""
    return Config(connect_timeout=10, read_timeout=60,
                  retries={"max_attempts": 5, "mode": "standard"}, user_agent_extra="studio")


def make_session(profile: str = "", region: str = "") -> Any:
    import boto3
    from botocore.exceptions import ProfileNotFound

    try:
        return boto3.Session(profile_name=profile or None, region_name=region or None)
    except ProfileNotFound as exc:
        from backends.aws_credentials import credentials_problem

        raise credentials_problem(exc, profile) from exc


def resolve_region(session: Any, region: str = "", endpoint_url: str = "") -> str:
    found = region or session.region_name
    if found:
        return str(found)
    if endpoint_url:
        return SIGNING_REGION_FOR_URL
    raise BackendUnavailable(
        "No AWS region is set. Choose the endpoint's region in Settings → SageMaker (or pass "
        "--region), or set a region for your AWS profile.")

