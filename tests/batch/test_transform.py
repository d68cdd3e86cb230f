"""A batch on SageMaker Batch Transform, end to end over real HTTP: real boto3 against a moto
server on 127.0.0.1 (S3 and the SageMaker control plane), the job run by the emulated worker
in transform_runner.py against `studio endpoint serve`'s server with the tiny model."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from backends.errors import InvalidRequest
from backends.types import GenerationRequest
from studio.batch.export import Exporter
from studio.batch.runner import RunnerConfig
from studio.batch.store import BatchStore
from studio.batch.transform import MODE, TransformOptions, TransformRunner
from studio.costs.budget import Budget
from studio.costs.pricing import sagemaker_price
from studio.generation.loop import GenerationLoop
from studio.library import Library
from tests.batch.fakes import make_job
from tests.batch.transform_runner import LocalTransform
from tests.s3_server import moto_s3_server

pytestmark = pytest.mark.slow

INSTANCE = "ml.g4dn.xlarge"
REQUEST = GenerationRequest(prompt="batch", seed=0, width=64, height=64, steps=2)


@pytest.fixture
def moto(aws_env, monkeypatch: pytest.MonkeyPatch) -> Any:
    import boto3

    with moto_s3_server() as url:
        monkeypatch.setenv("AWS_ENDPOINT_URL", url)  # boto3 sends S3 and SageMaker here
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="shop-run")
        sagemaker = boto3.client("sagemaker", region_name="us-east-1")
        sagemaker.create_model(
            ModelName="tiny-sd", ExecutionRoleArn="arn:aws:iam::123456789012:role/studio",
            PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/hf:1",
                              "ModelDataUrl": "s3://shop-run/model.tar.gz"})
        yield url, s3, sagemaker


@pytest.fixture
def worker(moto, endpoint_server, monkeypatch: pytest.MonkeyPatch) -> LocalTransform:
    return LocalTransform(moto[0], endpoint_server.url).install(monkeypatch)


def service(instances: int = 2, s3_uri: str = "s3://shop-run/batches") -> Any:
    from studio.backend_kinds import sagemaker_transform
    from studio.settings.values import SageMakerSettings, Settings

    settings = Settings(backend="sagemaker", sagemaker=SageMakerSettings(region="us-east-1"))
    return sagemaker_transform(settings, model_name="tiny-sd", s3_uri=s3_uri,
                               instance_type=INSTANCE, instances=instances)


def transform_job(tmp_path: Path, store: BatchStore, products: int = 3,
                  instances: int = 2) -> tuple[int, Path]:
    job_id, out = make_job(tmp_path, store, products=products, seeds=1)
    options = TransformOptions("tiny-sd", "s3://shop-run/batches", INSTANCE, instances)
    store.set_remote_mode(job_id, MODE, options.to_entry())
    return job_id, out


def runner(store: BatchStore, job_id: int, out: Path, library: Library, svc: Any,
           **kwargs: Any) -> TransformRunner:
    from studio.backend_kinds import create_backend
    from studio.settings.values import SageMakerSettings, Settings

    backend = create_backend(Settings(backend="sagemaker",
                                      sagemaker=SageMakerSettings(region="us-east-1")))
    config = RunnerConfig(budget=kwargs.pop("budget", None))
    return TransformRunner(store, job_id, backend, GenerationLoop(library), REQUEST, None,
                           Exporter(job_id, out), config, service=svc, poll_s=0.05, **kwargs)


def lines_of(s3: Any, prefix: str) -> dict[str, list[dict[str, Any]]]:
    listing = s3.list_objects_v2(Bucket="shop-run", Prefix=prefix)
    found = {}
    for entry in listing.get("Contents", []):
        body = s3.get_object(Bucket="shop-run", Key=entry["Key"])["Body"].read()
        found[entry["Key"]] = [json.loads(line) for line in body.splitlines() if line]
    return found


def test_a_catalog_runs_as_one_job_and_comes_back_to_its_skus(
        tmp_path: Path, moto, worker: LocalTransform, store: BatchStore,
        library: Library) -> None:
    _, s3, sagemaker = moto
    job_id, out = transform_job(tmp_path, store, products=3, instances=2)  # 6 images
    svc = service(instances=2)
    svc.check()
    events: list[Any] = []
    run = runner(store, job_id, out, library, svc)
    run.on_event = events.append
    summary = run.run()
    assert (summary.state, summary.done, summary.failed) == ("finished", 6, 0)

    # One job, created once, with the request Batch Transform needs.
    assert len(worker.create_calls) == 1
    name = worker.create_calls[0]
    assert name.startswith("studio-") and name.endswith(f"-{job_id}-1")
    sent = sagemaker.describe_transform_job(TransformJobName=name)
    assert sent["ModelName"] == "tiny-sd"
    assert sent["BatchStrategy"] == "SingleRecord" and sent["MaxPayloadInMB"] == 6
    assert sent["TransformInput"] == {
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                        "S3Uri": f"s3://shop-run/batches/{name}/input/"}},
        "ContentType": "application/json", "SplitType": "Line"}
    assert sent["TransformOutput"] == {"S3OutputPath": f"s3://shop-run/batches/{name}/output/",
                                       "Accept": "application/json", "AssembleWith": "Line"}
    assert sent["TransformResources"] == {"InstanceType": INSTANCE, "InstanceCount": 2}

    # JSON Lines in S3: one request per image, as InvokeEndpoint would get it, in item order
    # across the parts.
    inputs = lines_of(s3, f"batches/{name}/input/")
    assert len(inputs) > 1  # parts, so several instances can share the work
    requests = [line for key in sorted(inputs) for line in inputs[key]]
    items = store.items(job_id)
    assert [(r["inputs"], r["parameters"]["seed"]) for r in requests] == \
        [(i.prompt, i.seed) for i in items]
    assert all(r["parameters"]["num_images_per_prompt"] == 1 for r in requests)

    # Each output went back to its SKU and variant: the exported file is the library image
    # made from that item's prompt and seed.
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["images"]) == 6
    for row in manifest["images"]:
        item = next(i for i in items if (i.sku, i.variant) == (row["sku"], row["variant"]))
        record = library.get(store.item(job_id, item.idx).library_image_id)
        assert (record.prompt, record.seed) == (item.prompt, item.seed)
        assert hashlib.sha256((out / row["file"]).read_bytes()).hexdigest() == row["sha256"]
        assert row["backend"] == "sagemaker"
    assert (out / "manifest.csv").is_file()

    # Cost: the job's instance-seconds at the price book's hourly price, shared by its lines.
    status = sagemaker.describe_transform_job(TransformJobName=name)
    seconds = (status["TransformEndTime"] - status["TransformStartTime"]).total_seconds() * 2
    price = sagemaker_price(INSTANCE, "us-east-1")
    assert price is not None
    job_usd = seconds * price.value / 3600
    assert summary.spent_usd == pytest.approx(job_usd)
    assert manifest["job"]["transform_jobs"][0]["name"] == name
    assert manifest["job"]["transform_jobs"][0]["cost_usd"] == pytest.approx(job_usd, abs=1e-6)
    assert all(row["cost_usd"] == pytest.approx(job_usd / 6) for row in manifest["images"])
    assert any(e.kind == "transform" and "parts written" in e.message for e in events)

    # Running it again makes nothing and creates no job.
    assert runner(store, job_id, out, library, svc).run().state == "finished"
    assert len(worker.create_calls) == 1 and library.count() == 6


def test_a_crash_after_create_is_resumed_by_following_the_same_job(
        tmp_path: Path, moto, worker: LocalTransform, store: BatchStore, library: Library,
        monkeypatch: pytest.MonkeyPatch) -> None:
    job_id, out = transform_job(tmp_path, store, products=2, instances=1)
    svc = service(instances=1)

    class Killed(BaseException):
        pass

    original = type(svc.jobs).create

    def create_then_die(jobs: Any, plan: Any) -> None:
        original(jobs, plan)
        raise Killed  # the process dies the instant CreateTransformJob returned

    worker.hold.clear()  # the job stays InProgress until released
    monkeypatch.setattr(type(svc.jobs), "create", create_then_die)
    with pytest.raises(Killed):
        runner(store, job_id, out, library, svc).run()
    monkeypatch.setattr(type(svc.jobs), "create", original)
    assert len(worker.create_calls) == 1
    assert store.job(job_id).counts["pending"] == 4

    worker.hold.set()
    summary = runner(store, job_id, out, library, svc, retry_failed=True).run()
    assert (summary.state, summary.done) == ("finished", 4)
    assert len(worker.create_calls) == 1  # followed, never created again
    assert library.count() == 4


def test_a_job_that_fails_partway_keeps_what_it_made_and_itemises_the_rest(
        tmp_path: Path, moto, worker: LocalTransform, store: BatchStore,
        library: Library) -> None:
    job_id, out = transform_job(tmp_path, store, products=3, instances=1)  # 6 images, 4 parts
    svc = service(instances=1)
    worker.fail_on_part = 2
    summary = runner(store, job_id, out, library, svc).run()
    assert summary.state == "failed"
    assert (summary.done, summary.failed) == (4, 2)  # parts of 2, 2, 1, 1: the first two made
    for _, _, reason in summary.failures:
        assert "AlgorithmError" in reason and "failed before this part's output" in reason
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["images"]) == 4 and len(manifest["failures"]) == 2
    assert manifest["job"]["transform_jobs"][0]["status"] == "Failed"
    # The failed lines were paid for: their share counts as billed attempts without an image.
    assert all(f["billed_attempts"] == 1 and f["lost_usd"] > 0 for f in manifest["failures"])
    assert summary.spent_usd == pytest.approx(manifest["job"]["transform_jobs"][0]["cost_usd"],
                                              abs=1e-6)

    # A resume sends only the failed items, in a second job; nothing is made twice.
    worker.fail_on_part = None
    failed_before = {(i.prompt, i.seed) for i in store.items(job_id, "failed")}
    summary = runner(store, job_id, out, library, svc, retry_failed=True).run()
    assert (summary.state, summary.done, summary.failed) == ("finished", 6, 0)
    assert len(worker.create_calls) == 2 and worker.create_calls[1].endswith(f"-{job_id}-2")
    second = [line for lines in lines_of(moto[1], f"batches/{worker.create_calls[1]}/input/")
              .values() for line in lines]
    assert {(r["inputs"], r["parameters"]["seed"]) for r in second} == failed_before
    assert len(second) == 2
    assert library.count() == 6


def test_a_missing_bucket_is_refused_before_anything_is_created(
        tmp_path: Path, moto, worker: LocalTransform) -> None:
    with pytest.raises(InvalidRequest, match="bucket no-such-bucket does not exist"):
        service(s3_uri="s3://no-such-bucket/run").check()
    with pytest.raises(InvalidRequest, match="no SageMaker model"):
        service_for_model("missing-model").check()
    assert worker.create_calls == []


def service_for_model(name: str) -> Any:
    svc = service()
    svc.model_name = name
    return svc


def test_a_budget_below_the_estimate_creates_no_job(
        tmp_path: Path, moto, worker: LocalTransform, store: BatchStore,
        library: Library) -> None:
    job_id, out = transform_job(tmp_path, store, products=2, instances=1)
    summary = runner(store, job_id, out, library, service(instances=1),
                     budget=Budget(0.0001)).run()
    assert (summary.state, summary.stop_kind) == ("stopped", "budget")
    assert worker.create_calls == [] and library.count() == 0
    # The job was named before the budget stopped it; a resume with more budget creates it.
    assert [j["created"] for j in store.remote_mode(job_id)[1]["jobs"]] == [False]


def test_cancelling_leaves_the_job_running_and_a_resume_collects_it(
        tmp_path: Path, moto, worker: LocalTransform, store: BatchStore,
        library: Library) -> None:
    import threading

    from backends.types import CancelToken
    from tests.batch.transform_runner import wait_for

    job_id, out = transform_job(tmp_path, store, products=1, instances=1)
    worker.hold.clear()
    cancel = CancelToken()
    run = runner(store, job_id, out, library, service(instances=1))
    run.cancel = cancel
    summaries: list[Any] = []
    thread = threading.Thread(target=lambda: summaries.append(run.run()))
    thread.start()
    wait_for(lambda: len(worker.create_calls) == 1)
    cancel.cancel()
    thread.join(30)
    assert summaries[0].state == "cancelled"
    assert "goes on in SageMaker" in summaries[0].message
    assert "stop-transform-job" in summaries[0].message
    worker.hold.set()
    summary = runner(store, job_id, out, library, service(instances=1)).run()
    assert (summary.state, summary.done) == ("finished", 2)
    assert len(worker.create_calls) == 1


def test_a_job_of_our_name_reading_other_data_is_not_adopted(
        tmp_path: Path, moto, worker: LocalTransform, store: BatchStore,
        library: Library) -> None:
    from backends.sagemaker.async_inference import S3Prefix
    from backends.sagemaker.transform import TransformPlan

    job_id, out = transform_job(tmp_path, store, products=1, instances=1)
    token = store.remote_mode(job_id)[1]["token"]
    name = f"studio-{token}-{job_id}-1"
    worker.hold.clear()
    moto[2].create_transform_job(**TransformPlan(
        name, "tiny-sd", INSTANCE, 1, S3Prefix.parse("s3://shop-run/elsewhere"),
        ("p",)).create_request())
    summary = runner(store, job_id, out, library, service(instances=1)).run()
    assert (summary.state, summary.stop_kind) == ("stopped", "backend")
    assert "it is not touched" in summary.message
    assert library.count() == 0 and len(worker.create_calls) == 1
    worker.hold.set()
