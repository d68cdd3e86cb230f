"""One bedrock-runtime client per backend: the session, region, endpoint and retry policy.

Credentials are resolved by boto3's own chain (profile, SSO, environment, instance role);
Studio never sees, stores or logs them. Retries and timeouts are botocore configuration.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from backends.bedrock.errors import Target, map_aws_error

# Standard mode retries throttling and 5xx answers with jittered exponential back-off
# (≤1 s, ≤2 s, ≤4 s for throttling). Four attempts ride out a burst from Studio's parallel
# workers; image models' quotas are per minute, so waiting longer only keeps a designer
# staring at a spinner before the same "throttled" message. The AWS config's own
# max_attempts (profile setting or AWS_MAX_ATTEMPTS) takes precedence, as in any AWS tool.
DEFAULT_MAX_ATTEMPTS = 4
CONNECT_TIMEOUT_S = 10.0
# A premium or Ultra image can take close to a minute; botocore's default 60 s is too tight.
# Standard mode would also retry a read timeout, which could run (and bill) the image again,
# so the limit is kept well above what one image takes: hitting it means something is
# wrong, not slow. (Bedrock's own ModelTimeoutException, 408, is not retried.)
READ_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class ConnectionSettings:
    region: str = "us-east-1"
    profile: str = ""
    endpoint_url: str = ""  # a VPC endpoint, a proxy, or a local test server
    max_attempts: int | None = None  # None: the AWS config's max_attempts, else the default
    read_timeout_s: float = READ_TIMEOUT_S


class RuntimeClient:
    """Creates the client on first use (so building a backend never touches AWS) and shares
    it: boto3 clients are thread-safe, sessions are not, hence the lock around creation."""

    def __init__(self, settings: ConnectionSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._client: Any = None
        self._control: Any = None

    @property
    def region(self) -> str:
        """The region in use: the one set, else (once connected) the profile's default."""
        if self.settings.region or self._client is None:
            return self.settings.region
        return str(self._client.meta.region_name or "")

    def connect(self, target: Target) -> None:
        """Create the client now (session, profile, region), so its cost is not timed as
        network and a missing profile or region is reported before anything is sent."""
        try:
            self._get()
        except (ClientError, BotoCoreError) as exc:
            raise map_aws_error(exc, target) from exc

    def invoke(self, target: Target, body: dict[str, Any]) -> bytes:
        """POST the body to the model; the raw response body, or a mapped BackendError."""
        try:
            response = self._get().invoke_model(
                modelId=target.model_id, body=json.dumps(body).encode("utf-8"),
                contentType="application/json", accept="application/json")
            return response["body"].read()
        except (ClientError, BotoCoreError) as exc:
            raise map_aws_error(exc, target) from exc

    def image_model_summaries(self) -> list[dict[str, Any]]:
        """Bedrock's control plane: ListFoundationModels for image-making models, with their
        lifecycle. Free, but needs bedrock:ListFoundationModels, which a designer's role may
        lack; the caller keeps its shipped data on any failure (BotoCoreError, ClientError).

        It goes through the same session, region and endpoint URL (a proxy or a test server
        serves both planes); one quick attempt, as it only refreshes what Studio knows.
        """
        with self._lock:
            if self._control is None:
                config = Config(retries={"mode": "standard", "total_max_attempts": 1},
                                connect_timeout=3.0, read_timeout=10.0,
                                user_agent_extra="studio")
                self._control = self._session().client(
                    "bedrock", endpoint_url=self.settings.endpoint_url or None, config=config)
        answer = self._control.list_foundation_models(byOutputModality="IMAGE")
        return list(answer.get("modelSummaries") or [])

    def _session(self, core: Any = None) -> Any:
        core = core or botocore.session.Session(profile=self.settings.profile or None)
        return boto3.Session(botocore_session=core, region_name=self.settings.region or None)

    def _get(self) -> Any:
        with self._lock:
            if self._client is None:
                s = self.settings
                core = botocore.session.Session(profile=s.profile or None)
                session = self._session(core)
                attempts = (s.max_attempts or core.get_config_variable("max_attempts")
                            or DEFAULT_MAX_ATTEMPTS)
                # total_max_attempts counts the first call; Config's max_attempts would not.
                config = Config(retries={"mode": "standard", "total_max_attempts": attempts},
                                connect_timeout=CONNECT_TIMEOUT_S,
                                read_timeout=s.read_timeout_s, user_agent_extra="studio")
                self._client = session.client("bedrock-runtime",
                                              endpoint_url=s.endpoint_url or None,
                                              config=config)
                self._client.meta.events.register_first("needs-retry.bedrock-runtime",
                                                        no_retry_once_sent)
            return self._client


def no_retry_once_sent(caught_exception: BaseException | None = None, **_: Any) -> bool | None:
    """Veto botocore's own retry when the request reached Bedrock and the answer was lost (a
    read timeout, a connection closed mid-answer): the image may have been made and billed,
    and a silent retry would pay for it again. The error reaches the loop as a possibly-billed
    TransientError instead, counted and retried only when the user allows it. Throttling and
    connect failures (nothing was sent) still get botocore's back-off."""
    from botocore.exceptions import ConnectionClosedError, ReadTimeoutError

    if isinstance(caught_exception, ReadTimeoutError | ConnectionClosedError):
        return False  # not None: stops the standard handler from answering with a delay
    return None
