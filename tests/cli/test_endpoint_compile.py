"""`studio endpoint compile` as a user runs it, against moto (which finishes a training job the
moment it is created). The compile itself, optimum-neuron on a trn1, has not run here."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from studio.cli.main import main

REGION = ["--region", "us-west-2"]
ROLE = "arn:aws:iam::123456789012:role/AmazonSageMaker-ExecutionRole-1"


@pytest.fixture
def aws(aws_env):
    with mock_aws():
        iam = boto3.client("iam", region_name="us-west-2")
        iam.create_role(RoleName="AmazonSageMaker-ExecutionRole-1", AssumeRolePolicyDocument="{}")
        s3 = boto3.client("s3", region_name="us-west-2")
        s3.create_bucket(Bucket="studio-out",
                         CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
        yield boto3.client("sagemaker", region_name="us-west-2"), s3


def compile_args(*extra: str) -> list[str]:
    return ["endpoint", "compile", "--model", "stabilityai/sdxl-turbo", "--family", "sdxl",
            "--size", "1024x1024", "--s3-output", "s3://studio-out/compiled", *REGION,
            "--poll-seconds", "0", *extra]


def test_compile_runs_the_job_and_prints_the_model_and_the_next_command(aws, capsys) -> None:
    sagemaker, s3 = aws
    assert main(compile_args()) == 0
    captured = capsys.readouterr()
    jobs = sagemaker.list_training_jobs()["TrainingJobSummaries"]
    assert len(jobs) == 1
    name = jobs[0]["TrainingJobName"]
    assert name.startswith("studio-sdxl-turbo-1024x1024-")
    artefact = f"s3://studio-out/compiled/{name}/output/model.tar.gz"
    assert captured.out.strip() == artefact
    assert f"role  {ROLE}" in captured.err  # the account's one execution role, found
    assert "on 1 × ml.trn1.2xlarge" in captured.err and "(sdxl)" in captured.err
    assert "warning: ml.trn1.2xlarge has 32 GiB" in captured.err
    assert "Studio's price book has inference prices only" in captured.err
    assert "Completed" in captured.err  # the progress line
    assert (f"studio endpoint deploy --name studio-sdxl-turbo --model-data "
            f"{artefact} --instance-type ml.inf2.xlarge --region us-west-2") in captured.err
    source = s3.list_objects_v2(Bucket="studio-out", Prefix=f"compiled/{name}/source/")
    assert [o["Key"] for o in source["Contents"]] == [
        f"compiled/{name}/source/sourcedir.tar.gz"]

    # Following it again reads the finished job.
    assert main(["endpoint", "compile", "--follow", name, *REGION]) == 0
    assert capsys.readouterr().out.strip() == artefact


def test_dry_run_prints_the_request_and_makes_nothing(aws, capsys) -> None:
    sagemaker, s3 = aws
    assert main(compile_args("--dry-run", "--role", "arn:aws:iam::123456789012:role/Other",
                             "--instance-type", "ml.trn1.32xlarge", "--max-hours", "1.5")) == 0
    captured = capsys.readouterr()
    request = json.loads(captured.out)
    assert request["ResourceConfig"]["InstanceType"] == "ml.trn1.32xlarge"
    assert request["StoppingCondition"] == {"MaxRuntimeInSeconds": 5400}
    assert request["RoleArn"] == "arn:aws:iam::123456789012:role/Other"
    assert "nothing was uploaded or created" in captured.err and "warning" not in captured.err
    assert sagemaker.list_training_jobs()["TrainingJobSummaries"] == []
    assert s3.list_objects_v2(Bucket="studio-out").get("KeyCount") == 0


def test_no_wait_returns_once_the_job_is_created(aws, capsys) -> None:
    sagemaker, _ = aws
    assert main(compile_args("--no-wait")) == 0
    out = capsys.readouterr().out
    name = sagemaker.list_training_jobs()["TrainingJobSummaries"][0]["TrainingJobName"]
    assert f"studio endpoint compile --follow {name} --region us-west-2" in out
    assert f"s3://studio-out/compiled/{name}/output/model.tar.gz" in out


@pytest.mark.parametrize(("change", "expected"), [
    (("--size", "1001x1024"), "multiple of 8"),
    (("--instance-type", "ml.inf2.8xlarge"), "training jobs do not run on ml.inf2"),
    (("--s3-output", "studio-out/compiled"), "--s3-output must be an s3:// URL"),
    (("--role", "not-a-role"), "--role must be an IAM role ARN"),
    (("--region", "af-south-1"), "not published in af-south-1"),
])
def test_bad_input_exits_2_and_creates_nothing(aws, capsys, change, expected) -> None:
    sagemaker, _ = aws
    args = compile_args()
    flag, value = change
    if flag in args:
        args[args.index(flag) + 1] = value
    else:
        args += [flag, value]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err
    assert sagemaker.list_training_jobs()["TrainingJobSummaries"] == []


def test_missing_arguments_are_named(aws, capsys) -> None:
    assert main(["endpoint", "compile", "--model", "a/b", *REGION]) == 2
    assert "needs --size, --s3-output (or --follow JOB" in capsys.readouterr().err


def test_no_execution_role_found_is_a_clear_error(aws_env, capsys) -> None:
    with mock_aws():
        assert main(compile_args()) == 2
    assert "Pass --role ARN" in capsys.readouterr().err
