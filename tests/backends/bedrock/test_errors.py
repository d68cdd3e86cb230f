"""Every failure Bedrock (or the AWS credential chain) can produce, through real boto3, mapped to
the shared error kinds with a message that says what to do."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from backends.bedrock import (
    BedrockBackend,
    ContentFiltered,
    CredentialsProblem,
    ModelAccessDenied,
    ModelNotAvailable,
    RequestRejected,
    Throttled,
)
from backends.bedrock.client import ConnectionSettings, RuntimeClient
from backends.bedrock.errors import Target
from backends.errors import BackendUnavailable, TransientError
from backends.types import GenerationRequest
from tests.backends.bedrock.conftest import isolate_aws
from tests.backends.bedrock.fake_bedrock_server import FakeBedrock

SD35 = "stability.sd3-5-large-v1:0"
REQUEST = GenerationRequest(prompt="a linen shirt on a hanger", seed=1)


def test_model_access_not_granted(make_backend, fake_bedrock: FakeBedrock) -> None:
    fake_bedrock.scenario.denied.add(SD35)
    backend = make_backend(SD35)
    with pytest.raises(ModelAccessDenied) as caught:
        backend.generate(REQUEST)
    message = str(caught.value)
    assert isinstance(caught.value, BackendUnavailable)
    assert "You don't have access to the model" in message  # the service's reason
    assert ("Bedrock console in us-west-2, go to Model access and request Stable Diffusion "
            "3.5 Large") in message
    with pytest.raises(ModelAccessDenied):  # Test connection says the same, instead of "OK"
        backend.test_connection()


@pytest.mark.parametrize(("prompt", "blocked"), [
    ("a forbidden logo", "blocked the prompt (Filter reason: prompt)"),
    ("an unsafe scene", "blocked the generated image (Filter reason: output image)"),
])
def test_stability_content_filter_from_finish_reasons(make_backend, prompt, blocked) -> None:
    with pytest.raises(ContentFiltered, match=blocked.replace("(", r"\(").replace(")", r"\)")):
        make_backend(SD35).generate(GenerationRequest(prompt=prompt))


def test_service_validation_is_reported_with_its_message(fake_bedrock: FakeBedrock) -> None:
    # Pre-send checks stop Studio's own requests, so send a body by hand through real boto3.
    client = RuntimeClient(ConnectionSettings(region="us-west-2", endpoint_url=fake_bedrock.url))
    target = Target(SD35, "Stable Diffusion 3.5 Large", "us-west-2")
    with pytest.raises(RequestRejected, match="Bedrock refused the request for Stable Diffusion "
                                              r"3.5 Large \(stability.sd3-5-large-v1:0\): "
                                              r"Malformed input request: #: extraneous key "
                                              r"\[steps\]"):
        client.invoke(target, {"prompt": "x", "steps": 30})


def test_throttling_is_retried_by_botocore_then_succeeds(make_backend, fake_bedrock) -> None:
    fake_bedrock.scenario.throttle = 1
    result = make_backend(SD35, max_attempts=2).generate(REQUEST)
    assert len(result.images) == 1
    assert [c.attempt for c in fake_bedrock.calls] == [1, 2]  # the SDK's own retry


def test_throttling_that_persists_stops_after_the_bounded_attempts(make_backend,
                                                                   fake_bedrock) -> None:
    fake_bedrock.scenario.throttle = -1  # always
    with pytest.raises(Throttled) as caught:
        make_backend(SD35, max_attempts=2).generate(REQUEST)
    assert isinstance(caught.value, TransientError)
    assert len(fake_bedrock.calls) == 2
    assert "gave up after 2 attempts" in str(caught.value)
    assert "Too many requests" in str(caught.value) and "Service Quotas" in str(caught.value)


def test_a_failure_after_some_images_says_those_are_billed(make_backend, fake_bedrock) -> None:
    def throttle_from_the_second(event) -> None:
        if event.step == 1:
            fake_bedrock.scenario.throttle = -1

    with pytest.raises(Throttled, match="1 of 2 images had already been made; Bedrock bills"):
        make_backend(SD35, max_attempts=1).generate(
            GenerationRequest(prompt="vase", count=2), on_progress=throttle_from_the_second)


def test_a_region_that_cannot_reach_the_model_is_refused_before_sending(make_backend,
                                                                        fake_bedrock) -> None:
    with pytest.raises(ModelNotAvailable) as caught:
        make_backend(SD35, region="eu-west-1").generate(REQUEST)
    assert "cannot be reached from eu-west-1" in str(caught.value)
    assert "on demand in us-west-2" in str(caught.value)
    assert fake_bedrock.calls == []


def test_model_not_offered_in_the_region(make_backend, fake_bedrock) -> None:
    fake_bedrock.scenario.missing.add(SD35)
    with pytest.raises(ModelNotAvailable) as caught:
        make_backend(SD35).generate(REQUEST)
    assert "not available in us-west-2: Model not found" in str(caught.value)


def test_a_model_id_bedrock_does_not_know(fake_bedrock: FakeBedrock) -> None:
    client = RuntimeClient(ConnectionSettings(region="us-west-2", endpoint_url=fake_bedrock.url))
    with pytest.raises(ModelNotAvailable, match="model identifier is invalid"):
        client.invoke(Target("stability.stable-image-v9:0", "Stable v9", "us-west-2"), {})


def test_expired_session_credentials(make_backend, fake_bedrock) -> None:
    fake_bedrock.scenario.expired_token = True
    with pytest.raises(CredentialsProblem, match="have expired. Sign in again with: aws sso login"):
        make_backend(SD35).generate(REQUEST)


def test_no_credentials_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prices,
                               fake_bedrock: FakeBedrock) -> None:
    isolate_aws(monkeypatch, tmp_path / "empty-home", credentials=False)
    backend = BedrockBackend(SD35, prices=prices, endpoint_url=fake_bedrock.url)
    with pytest.raises(CredentialsProblem, match="No AWS credentials were found"):
        backend.generate(REQUEST)
    with pytest.raises(CredentialsProblem):
        backend.test_connection()
    assert fake_bedrock.calls == []  # unsigned requests are never sent


def _sso_profile(home: Path, monkeypatch: pytest.MonkeyPatch, *, token: dict | None) -> None:
    isolate_aws(monkeypatch, home, credentials=False)
    start_url = "https://example.awsapps.com/start"
    Path(home / "aws_config_file").write_text(
        "[profile designer]\n"
        f"sso_start_url = {start_url}\nsso_region = us-east-1\n"
        "sso_account_id = 123456789012\nsso_role_name = Designer\nregion = us-east-1\n")
    if token is not None:
        import hashlib

        cache = home / ".aws" / "sso" / "cache"
        cache.mkdir(parents=True)
        name = hashlib.sha1(start_url.encode()).hexdigest()
        (cache / f"{name}.json").write_text(json.dumps(token))


@pytest.mark.parametrize("token", [
    {"accessToken": "old", "expiresAt": "2020-01-01T00:00:00Z", "region": "us-east-1",
     "startUrl": "https://example.awsapps.com/start"},  # expired
    None,  # never signed in on this machine
])
def test_sso_session_expired_or_missing_says_run_aws_sso_login(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prices, fake_bedrock, token) -> None:
    _sso_profile(tmp_path / "sso-home", monkeypatch, token=token)
    backend = BedrockBackend(SD35, prices=prices, profile="designer",
                             endpoint_url=fake_bedrock.url)
    with pytest.raises(CredentialsProblem) as caught:
        backend.generate(REQUEST)
    assert "SSO session for profile 'designer' has expired or was never started" in str(
        caught.value)
    assert str(caught.value).endswith("Sign in again with: aws sso login --profile designer")
    assert fake_bedrock.calls == []


def test_a_profile_that_does_not_exist(make_backend) -> None:
    with pytest.raises(CredentialsProblem, match="profile 'nobody' is not in your AWS config"):
        make_backend(SD35, profile="nobody").generate(REQUEST)


def test_an_endpoint_nobody_listens_on_is_a_transient_network_error(aws_home, prices) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    backend = BedrockBackend(SD35, prices=prices, endpoint_url=f"http://127.0.0.1:{port}",
                             max_attempts=1)
    with pytest.raises(TransientError, match=f"Could not reach http://127.0.0.1:{port}"):
        backend.generate(REQUEST)


def test_the_default_retry_policy_is_botocores_standard_mode_with_four_attempts(
        aws_home, prices, fake_bedrock, monkeypatch: pytest.MonkeyPatch) -> None:
    backend = BedrockBackend(SD35, prices=prices, endpoint_url=fake_bedrock.url)
    backend.test_connection()
    config = backend._client._client.meta.config
    assert config.retries == {"mode": "standard", "total_max_attempts": 4}
    assert config.read_timeout == 120.0
    # The AWS config's own max_attempts wins, as in every AWS tool.
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    tuned = BedrockBackend(SD35, prices=prices, endpoint_url=fake_bedrock.url)
    tuned.test_connection()
    assert tuned._client._client.meta.config.retries["total_max_attempts"] == 2
