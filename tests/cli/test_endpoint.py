"""`studio endpoint …` and `studio generate --backend sagemaker`, as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from studio.cli.main import main

ROOT = Path(__file__).resolve().parents[2]


def aws_process_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return {**env, "STUDIO_HOME": str(home), "HF_HUB_OFFLINE": "1",
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": str(home / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-aws-credentials")}


@pytest.fixture
def served(tiny_sd_path: Path, studio_home: Path):
    """`studio endpoint serve` in its own process, on a free loopback port."""
    server = subprocess.Popen(
        [sys.executable, "-m", "studio.cli.main", "endpoint", "serve", "--model", str(tiny_sd_path),
         "--port", "0"], cwd=ROOT, env=aws_process_env(studio_home), text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = server.stdout.readline()  # printed once the model is loaded
        assert line.startswith("Serving tiny-sd on http://127.0.0.1:"), server.stderr.read()
        yield line.split()[-1]
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_serve_then_generate_records_images_with_latency_split_and_cost(served, studio_home):
    def studio(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "studio.cli.main", *args], cwd=ROOT,
                              env=aws_process_env(studio_home), capture_output=True, text=True,
                              timeout=120)

    run = studio("generate", "--backend", "sagemaker", "--endpoint-url", served, "--endpoint",
                 "test", "--json", "--prompt", "a ceramic mug on oak", "--seed", "31",
                 "--count", "2", "--width", "64", "--height", "64", "--steps", "2")
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert [line["seed"] for line in lines] == [31, 32]
    for line in lines:
        assert (line["backend"], line["model"]) == ("sagemaker", "tiny-sd")
        assert line["timings"]["network_s"] > 0 and line["timings"]["inference_s"] > 0
        assert line["cost_usd"] > 0 and "ml.g5.xlarge at $1.408/h" in line["cost_basis"]
        assert Path(line["library_path"]).is_file()

    found = studio("history", "--search", "ceramic", "--json")
    assert sorted(json.loads(x)["seed"] for x in found.stdout.splitlines()) == [31, 32]

    refused = studio("generate", "--backend", "sagemaker", "--endpoint-url", served,
                     "--endpoint", "test", "--prompt", "x", "--width", "64", "--height", "64",
                     "--steps", "1", "--init-image", str(Path(lines[0]["library_path"])),
                     "--strength", "0.5")
    assert refused.returncode == 2 and "no denoising step would run" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_endpoint_without_the_sagemaker_backend_is_refused(capsys) -> None:
    assert main(["generate", "--backend", "local", "--endpoint", "x", "--prompt", "x"]) == 2
    assert "add --backend sagemaker" in capsys.readouterr().err


def test_package_command(tiny_sd_path: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "model.tar.gz"
    assert main(["endpoint", "package", "--model", str(tiny_sd_path), "--out", str(out)]) == 0
    with tarfile.open(out) as tar:
        assert {"code/inference.py", "code/requirements.txt"} <= set(tar.getnames())
    captured = capsys.readouterr()
    assert "Wrote" in captured.out and "aws s3 cp" in captured.err
    assert "--instance-type ml.g5.xlarge" in captured.err
    assert "written so the container's transformers 4 reads it: " in captured.out
    assert "text_encoder/model.safetensors" in captured.out


def test_deploy_status_delete_commands(aws_env, capsys, monkeypatch) -> None:
    with mock_aws():
        iam = boto3.client("iam", region_name="us-east-1")
        iam.create_role(RoleName="AmazonSageMaker-ExecutionRole-1", AssumeRolePolicyDocument="{}")
        assert main(["endpoint", "deploy", "--name", "studio-tiny", "--model-data",
                     "s3://studio-models/model.tar.gz", "--instance-type", "ml.g4dn.xlarge",
                     "--poll-seconds", "0"]) == 0
        captured = capsys.readouterr()
        assert "role  arn:aws:iam::123456789012:role/AmazonSageMaker-ExecutionRole-1" in \
            captured.err
        assert "costs about $0.74/h ($17.66/day) while up" in captured.err
        assert "InService" in captured.err
        assert "Endpoint studio-tiny is InService on 1 × ml.g4dn.xlarge in us-east-1" in \
            captured.out

        assert main(["endpoint", "status", "studio-tiny", "--json"]) == 0
        status = json.loads(capsys.readouterr().out)
        assert (status["status"], status["usd_per_hour"]) == ("InService", 0.736)

        monkeypatch.setattr(sys, "stdin", open(os.devnull))  # noqa: SIM115 (not a terminal)
        assert main(["endpoint", "delete", "studio-tiny"]) == 2
        refused = capsys.readouterr().err
        assert "Nothing was deleted: add --yes" in refused and "$0.74/h" in refused
        assert main(["endpoint", "status", "studio-tiny"]) == 0
        assert "InService" in capsys.readouterr().out

        assert main(["endpoint", "delete", "studio-tiny", "--yes"]) == 0
        assert "Billing for the endpoint has stopped" in capsys.readouterr().out
        assert main(["endpoint", "status", "studio-tiny"]) == 3
        assert "no SageMaker endpoint 'studio-tiny'" in capsys.readouterr().err
