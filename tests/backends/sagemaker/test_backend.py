"""The SageMaker backend over real HTTP to our endpoint server, with the real boto3."""

from __future__ import annotations

import time

import boto3
import pytest
from moto import mock_aws
from PIL import Image

from backends.endpoint.deploy import deploy, plan_deployment
from backends.endpoint.server import EndpointServer
from backends.errors import InvalidRequest
from backends.sagemaker import (
    CredentialsProblem,
    EndpointModelError,
    EndpointNotFound,
    EndpointTimeout,
    EndpointUnreachable,
    SageMakerBackend,
    payloads,
)
from backends.types import Backend, GenerationRequest

PRICE = 1.408


def backend(server: EndpointServer | str, **kwargs) -> SageMakerBackend:
    url = server if isinstance(server, str) else server.url
    kwargs.setdefault("usd_per_hour", PRICE)
    kwargs.setdefault("price_source", "us-east-1 list price")
    return SageMakerBackend("test", endpoint_url=url, **kwargs)


def tiny(**changes) -> GenerationRequest:
    values = {"prompt": "a walnut desk organiser", "width": 64, "height": 64, "steps": 1}
    return GenerationRequest(**{**values, **changes})


def test_images_and_seeds_round_trip(endpoint_server, aws_env) -> None:
    result = backend(endpoint_server).generate(tiny(seed=70, count=3))
    assert [image.seed for image in result.images] == [70, 71, 72]
    assert all(image.image.size == (64, 64) for image in result.images)
    assert (result.backend, result.model) == ("sagemaker", "tiny-sd")
    assert result.device == "1 × ml.g5.xlarge (cpu fp32)"
    assert result.request.seed == 70 and isinstance(backend(endpoint_server), Backend)


def test_latency_is_split_and_the_cost_is_the_endpoint_time(endpoint_server, aws_env) -> None:
    result = backend(endpoint_server, instance_count=2).generate(tiny(seed=1))
    t = result.timings
    assert t.load_s == 0 and t.inference_s > 0 and t.network_s > 0 and t.decode_s > 0
    assert t.total_s >= t.network_s + t.queue_s + t.inference_s + t.decode_s - 1e-3
    assert not result.cost.estimated
    busy = float(result.cost.basis.split("Endpoint time ")[1].split(" s")[0])
    assert result.cost.usd == pytest.approx(PRICE * 2 * busy / 3600, rel=0.2, abs=1e-6)
    assert "of 2 × ml.g5.xlarge at $1.408/h (us-east-1 list price)" in result.cost.basis


def test_the_estimate_learns_from_a_run(endpoint_server, aws_env) -> None:
    client = backend(endpoint_server)
    before = client.estimate_cost(tiny())
    assert before.estimated and before.basis.startswith("A guessed")
    client.generate(tiny(seed=2))
    after = client.estimate_cost(tiny())
    assert after.basis.startswith("About") and after.usd != before.usd


def test_without_a_price_the_cost_says_so(endpoint_server, aws_env) -> None:
    result = backend(endpoint_server, usd_per_hour=None).generate(tiny(seed=3))
    assert result.cost.usd == 0 and "no price is known" in result.cost.basis


def test_many_large_images_are_split_across_calls(endpoint_server, aws_env,
                                                  monkeypatch) -> None:
    monkeypatch.setattr(payloads, "MAX_PIXELS_PER_CALL", 2 * 64 * 64)
    progress = []
    result = backend(endpoint_server).generate(tiny(seed=10, count=3), on_progress=progress.append)
    assert [image.seed for image in result.images] == [10, 11, 12]
    assert len(endpoint_server.requests) == 2
    assert [(p.step, p.total) for p in progress] == [(0, 2), (1, 2), (2, 2)]


def test_image_to_image_goes_over_the_wire(endpoint_server, aws_env) -> None:
    source = Image.new("RGB", (300, 200), (200, 30, 30))
    result = backend(endpoint_server).generate(tiny(seed=4, steps=2, init_image=source,
                                                    strength=0.5))
    assert result.images[0].image.size == (64, 64)


def test_a_request_the_endpoint_refuses_says_why(endpoint_server, aws_env) -> None:
    source = Image.new("RGB", (64, 64))
    with pytest.raises(InvalidRequest, match="The endpoint refused the request: With strength "
                                             "0.5 no denoising step would run"):
        backend(endpoint_server).generate(tiny(steps=1, init_image=source, strength=0.5))


def test_a_model_failure_is_a_model_error(tiny_endpoint_model, handler_with, aws_env) -> None:
    def broken(data, model):
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")

    with EndpointServer(tiny_endpoint_model, handler=handler_with(broken), port=0) as server:
        with pytest.raises(EndpointModelError, match="The model on endpoint test failed "
                                                     r"\(status 500\).*CUDA out of memory"):
            backend(server).generate(tiny())


def test_an_unknown_endpoint_is_not_found(tiny_endpoint_model, aws_env) -> None:
    with EndpointServer(tiny_endpoint_model, port=0, endpoint_name="real") as server:
        with pytest.raises(EndpointNotFound, match=f"no SageMaker endpoint 'test' at "
                                                   f"{server.url}"):
            backend(server).generate(tiny())


def test_a_slow_endpoint_times_out_once_without_a_retry(tiny_endpoint_model, aws_env) -> None:
    with EndpointServer(tiny_endpoint_model, port=0, delay_s=1.5) as server:
        with pytest.raises(EndpointTimeout, match="did not answer within 0.5 s.*may have "
                                                  "finished \\(and billed\\)"):
            backend(server, read_timeout_s=0.5).generate(tiny())
        time.sleep(2.0)  # long enough for a retry, had there been one, to arrive
        # A retry would have run (and billed) the generation a second time.
        assert server.invocations == 1


def test_a_server_that_is_not_running_is_unreachable(aws_env) -> None:
    with EndpointServer(None, port=0) as server:
        url = server.url
    with pytest.raises(EndpointUnreachable, match="check that it is running"):
        backend(url).generate(tiny())


def test_no_credentials(endpoint_server, monkeypatch, aws_env) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    with pytest.raises(CredentialsProblem, match="No AWS credentials were found"):
        backend(endpoint_server).generate(tiny())


def test_an_expired_sso_session(endpoint_server, monkeypatch, aws_env, tmp_path) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))  # an empty ~/.aws/sso/cache: no token
    (tmp_path / "aws-config").write_text(
        "[profile design]\nsso_start_url = https://example.awsapps.com/start\n"
        "sso_region = us-east-1\nsso_account_id = 123456789012\nsso_role_name = Designer\n"
        "region = us-east-1\n")
    with pytest.raises(CredentialsProblem, match="SSO session for profile 'design' has expired"
                                                 ".*aws sso login --profile design"):
        backend(endpoint_server, profile="design").generate(tiny())


def test_an_unknown_profile(endpoint_server, aws_env) -> None:
    with pytest.raises(CredentialsProblem, match="profile 'nobody' is not in your AWS config"):
        backend(endpoint_server, profile="nobody").generate(tiny())


def test_jumpstart_format(endpoint_server, aws_env) -> None:
    client = backend(endpoint_server, payload_format="jumpstart")
    result = client.generate(tiny(seed=5, count=2))
    assert [image.seed for image in result.images] == [5, 6]
    assert len(endpoint_server.requests) == 2  # one image per call keeps seed + i exact
    assert result.timings.network_s == 0 and result.timings.inference_s > 0
    with pytest.raises(InvalidRequest, match="JumpStart text-to-image endpoints take no init"):
        client.generate(tiny(init_image=Image.new("RGB", (64, 64))))


def test_a_request_over_6_mb_is_refused_before_sending(endpoint_server, aws_env,
                                                       monkeypatch) -> None:
    monkeypatch.setattr(payloads, "MAX_BODY_BYTES", 100)
    with pytest.raises(InvalidRequest, match="above SageMaker's 6 MB limit"):
        backend(endpoint_server).generate(tiny(prompt="x" * 200))
    assert endpoint_server.requests == []


def test_no_endpoint_name() -> None:
    client = SageMakerBackend()
    assert not client.describe().available
    with pytest.raises(InvalidRequest, match="No SageMaker endpoint is set"):
        client.generate(tiny())


def test_test_connection_to_a_local_server(endpoint_server, aws_env) -> None:
    sentence = backend(endpoint_server).test_connection()
    assert sentence.startswith(f"Endpoint test at {endpoint_server.url} answered; a 64×64 "
                               "test image came back in ")


def test_test_connection_reads_the_status_from_the_control_plane(endpoint_server,
                                                                 aws_env) -> None:
    with mock_aws():
        control = boto3.client("sagemaker", region_name="us-east-1")
        deploy(control, plan_deployment("test", "s3://studio-models/m.tar.gz", "ml.g4dn.xlarge",
                                        region="us-east-1",
                                        role="arn:aws:iam::123456789012:role/R"), poll_s=0)
        sentence = backend(endpoint_server, check_status=True, region="us-east-1",
                           instance_type="ml.g5.xlarge").test_connection()
    assert sentence.startswith("Endpoint test is InService on 1 × ml.g4dn.xlarge; a 64×64 "
                               "test image came back in ")
    assert "Settings say ml.g5.xlarge: set ml.g4dn.xlarge there" in sentence


def test_the_client_side_never_imports_torch(studio_home) -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys\nfrom studio.backend_kinds import create_backend\n"
            "from studio.cli.main import build_parser\n"
            "from studio.settings.values import Settings\n"
            "build_parser()\ncreate_backend(Settings(backend='sagemaker'))\n"
            "print(sorted(m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[3], timeout=60,
                         env={**os.environ, "AWS_EC2_METADATA_DISABLED": "true"})
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"
