"""`studio generate --backend bedrock` as a user runs it: a real process, real boto3, and the
local fake Bedrock server standing in for AWS (nothing leaves loopback)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from backends.bedrock import BedrockBackend
from studio.backend_kinds import create_backend
from studio.settings.values import BedrockSettings, Settings
from tests.backends.bedrock.fake_bedrock_server import FakeBedrock

NOVA = "amazon.nova-canvas-v1:0"


@pytest.fixture
def fake_bedrock() -> Iterator[FakeBedrock]:
    server = FakeBedrock().start()
    try:
        yield server
    finally:
        server.stop()


def studio(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    aws = home / "aws"
    aws.mkdir(parents=True, exist_ok=True)
    (aws / "config").write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(STUDIO_HOME=str(home), HOME=str(aws), AWS_ACCESS_KEY_ID="testing",
               AWS_SECRET_ACCESS_KEY="testing", AWS_CONFIG_FILE=str(aws / "config"),
               AWS_SHARED_CREDENTIALS_FILE=str(aws / "config"), AWS_EC2_METADATA_DISABLED="true",
               AWS_MAX_ATTEMPTS="2")  # the SDK's own setting keeps the throttling case short
    return subprocess.run([sys.executable, "-m", "studio.cli.main", *args], capture_output=True,
                          text=True, env=env, timeout=120)


def bedrock(fake: FakeBedrock, *args: str) -> list[str]:
    return ["generate", "--backend", "bedrock", "--bedrock-model", NOVA, "--endpoint-url",
            fake.url, "--region", "us-east-1", *args]


def test_generate_on_bedrock_records_images_with_latency_and_per_image_cost(
        fake_bedrock: FakeBedrock, studio_home: Path) -> None:
    run = studio(*bedrock(fake_bedrock, "--prompt", "a leather tote on marble", "--seed", "7",
                          "--count", "2", "--json"), home=studio_home)
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert [line["seed"] for line in lines] == [7, 8]
    for line in lines:
        assert line["backend"] == "bedrock" and line["model"] == NOVA
        assert line["device"] == "Amazon Bedrock (us-east-1)"
        assert line["cost_usd"] == pytest.approx(0.04) and not line["cost_estimated"]
        assert line["estimate_usd"] == pytest.approx(0.04)
        assert line["cost_basis"].startswith("2 images × $0.04 (Nova Canvas, standard, "
                                             "≤1024×1024, us-east-1 list price as of")
        assert line["timings"]["network_s"] > 0 and line["latency_s"] > 0
        with Image.open(line["library_path"]) as image:
            assert image.size == (1024, 1024)
            assert "Backend: bedrock" in image.text["parameters"]
    assert [c.region for c in fake_bedrock.calls] == ["us-east-1", "us-east-1"]

    found = studio("history", "--search", "tote", "--json", home=studio_home)
    assert sorted(json.loads(x)["seed"] for x in found.stdout.splitlines()) == [7, 8]


def test_human_output_shows_the_network_time_and_the_estimate(fake_bedrock,
                                                              studio_home) -> None:
    run = studio(*bedrock(fake_bedrock, "--prompt", "mug"), home=studio_home)
    assert run.returncode == 0, run.stderr
    assert "Estimated cost $0.040000 (1 image × $0.04 (Nova Canvas" in run.stderr
    assert "network" in run.stdout and "$0.040000" in run.stdout


@pytest.mark.parametrize(("setup", "args", "code", "message"), [
    (lambda fake: fake.scenario.denied.add(NOVA), [], 3, "go to Model access and request"),
    (lambda fake: setattr(fake.scenario, "throttle", -1), [], 4, "gave up after 2 attempts"),
    (lambda fake: None, ["--prompt", "a forbidden logo"], 2, "content filter"),
    (lambda fake: None, ["--width", "1000"], 2, "multiple of 16 (try 992 or 1008)"),
])
def test_errors_exit_with_the_documented_codes_and_no_traceback(
        fake_bedrock, studio_home, setup, args, code, message) -> None:
    setup(fake_bedrock)
    prompt = [] if "--prompt" in args else ["--prompt", "mug"]
    run = studio(*bedrock(fake_bedrock, *prompt, *args), home=studio_home)
    assert run.returncode == code, run.stderr
    assert message in run.stderr and "Traceback" not in run.stderr and run.stdout == ""


def test_cloud_options_need_a_cloud_backend(studio_home) -> None:
    run = studio("generate", "--prompt", "x", "--region", "us-east-1", home=studio_home)
    assert run.returncode == 2 and "--backend bedrock" in run.stderr


def test_settings_build_the_bedrock_backend_with_the_price_book() -> None:
    settings = Settings(backend="bedrock", bedrock=BedrockSettings(
        model="amazon.titan-image-generator-v2:0", region="us-west-2", profile="design",
        endpoint_url="http://127.0.0.1:9"))
    backend = create_backend(settings)
    assert isinstance(backend, BedrockBackend)
    assert backend.model == "amazon.titan-image-generator-v2:0"
    assert (backend.connection.region, backend.connection.profile,
            backend.connection.endpoint_url) == ("us-west-2", "design", "http://127.0.0.1:9")
    assert "amazon.nova-canvas-v1:0" in backend.prices.models
