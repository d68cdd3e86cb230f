"""`studio endpoint deploy --async`, `status` and `delete` against moto."""

from __future__ import annotations

import json

import boto3
from moto import mock_aws

from studio.cli.main import main

DEPLOY = ["endpoint", "deploy", "--name", "studio-async", "--model-data",
          "s3://studio-models/model.tar.gz", "--instance-type", "ml.g4dn.xlarge",
          "--role", "arn:aws:iam::123456789012:role/StudioEndpoint", "--poll-seconds", "0"]


def test_an_async_endpoint_scales_on_its_backlog_and_is_removed_whole(aws_env, capsys) -> None:
    with mock_aws():
        assert main([*DEPLOY, "--async", "--s3-output", "s3://studio-out/async",
                     "--max-instances", "3"]) == 0
        err = capsys.readouterr().err
        assert "async: results in s3://studio-out/async, scaling 0–3 instances" in err
        assert "registered scaling 0–3 instances" in err

        assert main(["endpoint", "status", "studio-async", "--json"]) == 0
        status = json.loads(capsys.readouterr().out)
        assert status["scaling"] == {"min": 0, "max": 3}
        assert status["async_output"] == "s3://studio-out/async" and status["backlog"] is None
        assert main(["endpoint", "status", "studio-async"]) == 0
        assert "scales 0–3 instances on its backlog" in capsys.readouterr().out

        assert main(["endpoint", "delete", "studio-async", "--yes"]) == 0
        assert "scalable target" in capsys.readouterr().out
        autoscaling = boto3.client("application-autoscaling", region_name="us-east-1")
        assert autoscaling.describe_scalable_targets(
            ServiceNamespace="sagemaker")["ScalableTargets"] == []


def test_async_options_without_async_are_refused(aws_env, capsys) -> None:
    with mock_aws():
        assert main([*DEPLOY, "--max-instances", "3"]) == 2
        assert "go with --async" in capsys.readouterr().err
        assert main([*DEPLOY, "--async"]) == 2
        assert "--s3-output" in capsys.readouterr().err
