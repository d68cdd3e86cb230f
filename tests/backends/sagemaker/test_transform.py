"""Batch Transform's client side: the job request, the JSON Lines, the parts, the names, and
the control plane and S3 over real HTTP to a moto server on 127.0.0.1."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from hypothesis import given
from hypothesis import strategies as st

from backends.errors import InvalidRequest
from backends.sagemaker import SageMakerBackend
from backends.sagemaker.async_inference import S3Prefix
from backends.sagemaker.transform import (
    MAX_LINES_PER_SHARD,
    SHARDS_PER_INSTANCE,
    JobStatus,
    Price,
    TransformJobs,
    TransformPlan,
    TransformService,
    job_name,
    request_line,
    result_from_line,
    shard_sizes,
)
from backends.types import Cost, GenerationRequest
from tests.s3_server import moto_s3_server

AWS_JOB_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")


def plan(prefix: str = "s3://run/batches", shards: tuple[str, ...] = ("part-00000.jsonl",),
         ) -> TransformPlan:
    return TransformPlan("studio-abc-7-1", "tiny-sd", "ml.g5.xlarge", 3, S3Prefix.parse(prefix),
                         shards)


def test_the_job_request_is_what_batch_transform_needs() -> None:
    assert plan().create_request() == {
        "TransformJobName": "studio-abc-7-1",
        "ModelName": "tiny-sd",
        "MaxConcurrentTransforms": 1,
        "MaxPayloadInMB": 6,
        "BatchStrategy": "SingleRecord",
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                            "S3Uri": "s3://run/batches/studio-abc-7-1/input/"}},
            "ContentType": "application/json", "SplitType": "Line"},
        "TransformOutput": {"S3OutputPath": "s3://run/batches/studio-abc-7-1/output/",
                            "Accept": "application/json", "AssembleWith": "Line"},
        "TransformResources": {"InstanceType": "ml.g5.xlarge", "InstanceCount": 3},
    }
    assert plan().output_key("part-00000.jsonl") == \
        "batches/studio-abc-7-1/output/part-00000.jsonl.out"
    assert plan("s3://run").input_key("p") == "studio-abc-7-1/input/p"


@given(st.integers(0, 20_000), st.integers(1, 50))
def test_parts_cover_every_line_evenly_and_give_each_instance_work(lines: int,
                                                                   instances: int) -> None:
    sizes = shard_sizes(lines, instances)
    assert sum(sizes) == lines
    if lines:
        assert min(sizes) >= 1 and max(sizes) - min(sizes) <= 1
        assert max(sizes) <= MAX_LINES_PER_SHARD
        assert len(sizes) >= min(lines, instances * SHARDS_PER_INSTANCE)


@given(st.text(min_size=1, max_size=30), st.integers(1, 10**9), st.integers(1, 10**6))
def test_job_names_are_valid_for_aws_or_refused(token: str, batch: int, counter: int) -> None:
    try:
        name = job_name(token, batch, counter)
    except InvalidRequest:
        return
    assert AWS_JOB_NAME.fullmatch(name) and len(name) <= 63
    assert name == job_name(token, batch, counter)  # deterministic: a resume finds it again


def test_instance_seconds_are_every_instance_from_start_to_end() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    status = JobStatus("j", "Completed", started=start, ended=start + timedelta(seconds=90),
                       instances=3)
    assert status.instance_seconds == 270
    assert JobStatus("j", "InProgress", started=start, instances=3).instance_seconds == 0
    service = TransformService(TransformJobs(None, None, S3Prefix.parse("s3://run")),
                               model_name="m", instance_type="ml.g5.xlarge", instances=3,
                               price=Price(1.2, "test price"))
    cost = service.line_cost(status, 9)
    assert cost.usd == pytest.approx(270 * 1.2 / 3600 / 9) and not cost.estimated
    assert "270 instance-seconds of 3 × ml.g5.xlarge at $1.200/h (test price)" in cost.basis
    unpriced = TransformService(service.jobs, model_name="m", instance_type="ml.x", instances=1)
    assert unpriced.line_cost(status, 9).usd == 0 and "price book" in \
        unpriced.line_cost(status, 9).basis


@pytest.mark.slow
def test_a_line_is_the_body_the_sagemaker_backend_sends_and_its_answer_the_same_image(
        endpoint_server, aws_env, monkeypatch: pytest.MonkeyPatch) -> None:
    bodies: list[bytes] = []
    original = endpoint_server.invoke

    def capture(body: bytes, *args: Any, **kwargs: Any) -> Any:
        bodies.append(body)
        return original(body, *args, **kwargs)

    monkeypatch.setattr(endpoint_server, "invoke", capture)
    request = GenerationRequest(prompt="a teak tray", negative_prompt="blur", width=64,
                                height=64, steps=2, seed=41)
    realtime = SageMakerBackend("test", endpoint_url=endpoint_server.url).generate(request)
    line = request_line(request.replace(seed=0, count=5), 41, "studio")
    assert bodies == [line]

    answer = endpoint_server.invoke(line, "application/json", "application/json")
    result = result_from_line(answer.body, request, 41, "studio",
                              cost=Cost(0.01, "share"), fleet="2 × ml.g5.xlarge")
    assert [image.seed for image in result.images] == [41]
    assert result.images[0].image.tobytes() == realtime.images[0].image.tobytes()
    assert (result.request.steps, result.backend, result.cost.usd) == (2, "sagemaker", 0.01)
    assert result.device.startswith("2 × ml.g5.xlarge")


def test_loras_cannot_go_in_a_transform_line() -> None:
    from backends.types import LoraRef

    request = GenerationRequest(prompt="x", width=64, height=64, seed=1,
                                loras=(LoraRef("style.safetensors", 1.0),))
    with pytest.raises(InvalidRequest, match="LoRAs"):
        request_line(request, 1, "studio")


@pytest.fixture
def aws(aws_env, monkeypatch: pytest.MonkeyPatch) -> Any:
    with moto_s3_server() as url:
        monkeypatch.setenv("AWS_ENDPOINT_URL", url)
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="run")
        yield boto3.client("sagemaker", region_name="us-east-1"), s3


def test_the_bucket_and_the_model_are_checked_first(aws) -> None:
    sagemaker, s3 = aws
    with pytest.raises(InvalidRequest, match="bucket missing does not exist"):
        TransformJobs(sagemaker, s3, S3Prefix.parse("s3://missing/x")).check_bucket()
    jobs = TransformJobs(sagemaker, s3, S3Prefix.parse("s3://run/x"))
    jobs.check_bucket()
    with pytest.raises(InvalidRequest, match="no SageMaker model nope"):
        jobs.check_model("nope")
    with pytest.raises(InvalidRequest, match="--model-name"):
        jobs.check_model("")


def test_a_job_is_created_described_and_its_parts_read_back_in_order(aws) -> None:
    sagemaker, s3 = aws
    jobs = TransformJobs(sagemaker, s3, S3Prefix.parse("s3://run/batches"))
    job = plan(shards=("part-00000.jsonl", "part-00001.jsonl"))
    assert jobs.describe(job.job_name) is None
    jobs.write_inputs(job, [[b'{"a": 1}', b'{"a": 2}'], [b'{"a": 3}']])
    body = s3.get_object(Bucket="run", Key=job.input_key("part-00000.jsonl"))["Body"].read()
    assert body == b'{"a": 1}\n{"a": 2}\n'
    jobs.create(job)
    status = jobs.describe(job.job_name)
    assert status is not None and status.input_uri == job.input_uri()
    assert (status.instances, status.instance_type, status.model_name) == \
        (3, "ml.g5.xlarge", "tiny-sd")
    assert jobs.finished_shards(job) == set()
    s3.put_object(Bucket="run", Key=job.output_key("part-00001.jsonl"), Body=b'{"x": 3}\n')
    s3.put_object(Bucket="run", Key="batches/studio-abc-7-1/output/stray.out", Body=b"")
    assert jobs.finished_shards(job) == {"part-00001.jsonl"}
    assert jobs.read_output(job, "part-00001.jsonl") == [b'{"x": 3}']
    assert jobs.read_output(job, "part-00000.jsonl") is None


@pytest.mark.slow
def test_creating_a_job_that_already_exists_keeps_the_one_there(aws, monkeypatch,
                                                                endpoint_server) -> None:
    from tests.batch.transform_runner import LocalTransform

    sagemaker, s3 = aws
    worker = LocalTransform(str(s3.meta.endpoint_url), endpoint_server.url)
    worker.install(monkeypatch)
    worker.hold.clear()  # AWS refuses a second job of a name; the emulation does as AWS does
    jobs = TransformJobs(sagemaker, s3, S3Prefix.parse("s3://run/batches"))
    jobs.create(plan())
    jobs.create(plan())
    assert worker.create_calls == ["studio-abc-7-1", "studio-abc-7-1"]
    assert len(worker.requests) == 1
    worker.hold.set()
    worker.join()


def test_an_unreachable_s3_or_control_plane_is_a_message_not_a_traceback(aws_env) -> None:
    from botocore.config import Config

    from backends.errors import BackendUnavailable

    config = Config(retries={"total_max_attempts": 1}, connect_timeout=2)
    closed = "http://127.0.0.1:9"  # nothing listens on the discard port here
    jobs = TransformJobs(boto3.client("sagemaker", region_name="us-east-1", endpoint_url=closed,
                                      config=config),
                         boto3.client("s3", region_name="us-east-1", endpoint_url=closed,
                                      config=config),
                         S3Prefix.parse("s3://run/x"))
    with pytest.raises(BackendUnavailable, match="Could not reach the S3 bucket"):
        jobs.check_bucket()
    with pytest.raises(BackendUnavailable, match="Could not describe the transform job"):
        jobs.describe("studio-abc-1-1")
    with pytest.raises(BackendUnavailable, match="Could not write the requests to S3"):
        jobs.write_inputs(plan(), [[b"{}"]])
