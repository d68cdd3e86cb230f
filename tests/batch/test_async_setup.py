"""The async batch setup the CLI and the window share: the client opened from plain values, the
bucket checked over real HTTP (moto S3), the mode kept with the job, and the runner a job's
mode picks."""

from __future__ import annotations

from pathlib import Path

import pytest

from backends.errors import InvalidRequest
from backends.types import GenerationRequest
from studio.batch.async_runner import AsyncBatchRunner, Fleet
from studio.batch.async_setup import (
    async_runner,
    async_settings,
    check_async,
    fleet_line,
    job_mode,
    open_async,
    photos_refusal,
    save_mode,
)
from studio.batch.export import Exporter
from studio.batch.runner import RunnerConfig
from studio.batch.store import BatchStore
from studio.generation.loop import GenerationLoop
from studio.library import Library
from studio.settings.values import SageMakerSettings, Settings
from tests.batch.fakes import FakeBackend, make_job
from tests.s3_server import moto_s3_server, s3_client

SETTINGS = Settings(backend="sagemaker", sagemaker=SageMakerSettings(
    endpoint_name="local", region="us-east-1", endpoint_url="http://127.0.0.1:9",
    instance_type="ml.g5.xlarge", instance_count=2))


class PricedBackend(FakeBackend):
    instance_type = "ml.g5.xlarge"
    usd_per_hour = 1.5
    instance_count = 2


def test_a_malformed_s3_uri_or_no_endpoint_name_is_refused_before_anything_is_sent(
        aws_env) -> None:
    with pytest.raises(InvalidRequest, match=r"s3://BUCKET\[/PREFIX\] \(got 'bucket/run'\)"):
        open_async(async_settings("bucket/run", 60.0), SETTINGS)
    nameless = SETTINGS.replace(sagemaker=SageMakerSettings(endpoint_url="http://127.0.0.1:9"))
    with pytest.raises(InvalidRequest, match="needs the endpoint's name"):
        open_async(async_settings("s3://bucket/run", 60.0), nameless)


def test_the_bucket_is_checked_and_the_fleet_described(aws_env, monkeypatch) -> None:
    with moto_s3_server() as url:
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", url)
        s3_client(url).create_bucket(Bucket="bucket")
        with pytest.raises(InvalidRequest, match="The S3 bucket absent does not exist"):
            check_async(open_async(async_settings("s3://absent/run", 60.0), SETTINGS),
                        PricedBackend())
        setup = check_async(open_async(async_settings("s3://bucket/run", 60.0), SETTINGS),
                            PricedBackend())
    # An endpoint URL has no control plane: the fleet is Settings' (2 instances here).
    assert setup.fleet == Fleet("ml.g5.xlarge", 2, 1.5, setup.fleet.source)
    assert fleet_line(setup, SETTINGS).startswith(
        "Async endpoint local: 2 × ml.g5.xlarge at $1.50/h each (Settings' instance type")
    assert "requests in s3://bucket/run. It bills instance-hours" in fleet_line(setup, SETTINGS)


def test_photos_refusal_names_the_column() -> None:
    assert photos_refusal("image_src") == ("async makes images from text only in this build; "
                                           "the catalog has product photos (image_src)")


def test_the_jobs_mode_picks_its_runner(tmp_path: Path, store: BatchStore, library: Library,
                                        aws_env) -> None:
    realtime, out = make_job(tmp_path, store, products=1, seeds=1)
    kept, _ = make_job(tmp_path, store, products=1, seeds=1, out_name="kept")
    save_mode(store, realtime, None)  # a real-time job keeps no mode
    save_mode(store, kept, open_async(async_settings("s3://bucket/run", 90.0, poll_s=0.5),
                                      SETTINGS))
    assert (job_mode(store, realtime), job_mode(store, kept)) == ("realtime", "async")
    assert store.remote_mode(kept)[1] == {"s3_uri": "s3://bucket/run", "timeout_s": 90.0,
                                          "s3_endpoint_url": "", "poll_s": 0.5}
    args = {"backend": PricedBackend(), "loop": GenerationLoop(library),
            "base_request": GenerationRequest(prompt="x", seed=0, width=64, height=64),
            "preset": None, "exporter": Exporter(kept, out), "config": RunnerConfig()}
    assert async_runner(store, realtime, SETTINGS, None, **args) is None
    runner = async_runner(store, kept, SETTINGS, None, **args)  # a resume: opened from the job
    assert isinstance(runner, AsyncBatchRunner) and runner.fleet is None  # checked on run
    assert (runner.async_config.timeout_s, runner.async_config.poll_s) == (90.0, 0.5)
    faster = async_runner(store, kept, SETTINGS, None, poll_s=0.1, **args)
    assert faster.async_config.poll_s == 0.1
