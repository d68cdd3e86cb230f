"""Fixtures: an AWS environment that can only reach loopback, and the fake Bedrock server."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from backends.bedrock import BedrockBackend, BedrockPriceBook
from tests.backends.bedrock.fake_bedrock_server import FakeBedrock

PRICE_FILE = Path(__file__).resolve().parents[3] / "resources" / "prices" / "bedrock.json"


def isolate_aws(monkeypatch: pytest.MonkeyPatch, home: Path, *, credentials: bool) -> None:
    """No real AWS config, profile or instance metadata can leak in; optionally dummy keys."""
    home.mkdir(parents=True, exist_ok=True)
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION",
                 "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID",
                 "AWS_SECRET_ACCESS_KEY", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                 "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE",
                 "AWS_ROLE_ARN", "AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE"):
        monkeypatch.delenv(name, raising=False)
    for name in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        path = home / name.lower()
        path.write_text("")
        monkeypatch.setenv(name, str(path))
    monkeypatch.setenv("HOME", str(home))  # the SSO token cache lives under ~/.aws
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    if credentials:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


@pytest.fixture
def aws_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "aws-home"
    isolate_aws(monkeypatch, home, credentials=True)
    return home


@pytest.fixture(scope="session")
def prices() -> BedrockPriceBook:
    return BedrockPriceBook.from_dict(json.loads(PRICE_FILE.read_text(encoding="utf-8")))


@pytest.fixture
def fake_bedrock(aws_home: Path) -> Iterator[FakeBedrock]:
    server = FakeBedrock().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def make_backend(fake_bedrock: FakeBedrock,
                 prices: BedrockPriceBook) -> Callable[..., BedrockBackend]:
    def make(model: str = "stability.sd3-5-large-v1:0", **kwargs: object) -> BedrockBackend:
        kwargs.setdefault("endpoint_url", fake_bedrock.url)
        kwargs.setdefault("region", "us-west-2")
        kwargs.setdefault("max_attempts", 2)
        return BedrockBackend(model, prices=prices, **kwargs)  # type: ignore[arg-type]

    return make
