"""Async batches over real HTTP: `endpoint serve`'s async route, real boto3, a moto S3 server."""

from __future__ import annotations

import json
import time
import types
from pathlib import Path
from typing import Any

import pytest

from backends.endpoint.server import EndpointServer
from backends.sagemaker.async_inference import AsyncEndpoint, AsyncPayloads, S3Prefix
from backends.sagemaker.backend import SageMakerBackend
from backends.types import GenerationRequest
from studio.batch.async_runner import AsyncBatchRunner, AsyncConfig
from studio.batch.export import Exporter
from studio.batch.runner import RunnerConfig
from studio.batch.store import BatchStore
from studio.generation.loop import GenerationLoop
from studio.library import Library
from tests.batch.fakes import make_job
from tests.s3_server import moto_s3_server, s3_client

USD_PER_HOUR = 3.6  # a tenth of a cent a second, so shares are easy to check


@pytest.fixture
def s3_url(aws_env):
    with moto_s3_server() as url:
        s3_client(url).create_bucket(Bucket="run")
        yield url


@pytest.fixture
def async_server(tiny_endpoint_model: Any, s3_url: str):
    with EndpointServer(tiny_endpoint_model, port=0) as server:
        server.enable_async(s3_client(s3_url), "s3://run/results")
        yield server


def _runner(store: BatchStore, job_id: int, out: Path, library: Library, server_url: str,
            s3_url: str, *, bucket: str = "run", timeout_s: float = 60.0,
            **config: Any) -> AsyncBatchRunner:
    backend = SageMakerBackend("local", endpoint_url=server_url, instance_type="ml.g5.xlarge",
                               usd_per_hour=USD_PER_HOUR, region="us-east-1")
    client = AsyncEndpoint.open("local", S3Prefix.parse(f"s3://{bucket}/batch"),
                                region="us-east-1", endpoint_url=server_url,
                                s3_endpoint_url=s3_url)
    request = GenerationRequest(prompt="x", seed=0, width=64, height=64, steps=1)
    return AsyncBatchRunner(store, job_id, backend, GenerationLoop(library), request, None,
                            Exporter(job_id, out), RunnerConfig(**config), client,
                            AsyncPayloads("studio"),
                            AsyncConfig(timeout_s=timeout_s, poll_s=0.05))


@pytest.mark.slow
def test_every_item_is_submitted_once_recorded_exported_and_costed(
        tmp_path: Path, store: BatchStore, library: Library, async_server, s3_url) -> None:
    job_id, out = make_job(tmp_path, store, products=2, seeds=1)  # 4 items
    runner = _runner(store, job_id, out, library, async_server.url, s3_url, concurrency=2)
    told: list[Any] = []
    runner.loop.subscribe(told.append)  # the session totals' way in, as for real-time runs
    summary = runner.run()
    assert len(told) == 4 and all(g.result.backend == "sagemaker" for g in told)
    assert (summary.state, summary.done, summary.failed) == ("finished", 4, 0)
    assert async_server.async_invocations.accepted == 4 == runner.submitted_here
    assert library.count() == 4
    items = store.items(job_id)
    assert all(i.inference_id.startswith(f"studio-{job_id}-") for i in items)
    assert all(i.output_location == f"s3://run/results/{i.inference_id}.out" for i in items)
    manifest = json.loads((out / "manifest.json").read_text())
    assert {row["output_location"] for row in manifest["images"]} == \
        {i.output_location for i in items}
    assert manifest["job"]["mode"] == "async" and "instance count" in manifest["job"]["cost_basis"]
    # The images' shares add up to the fleet's price over the time work was in flight.
    total = sum(row["cost_usd"] for row in manifest["images"])
    assert total == pytest.approx(runner._accrued_s * USD_PER_HOUR / 3600, rel=1e-3)
    assert total > 0
    record = library.get(items[0].library_image_id)
    assert "Async endpoint billed by the hour" in record.cost.basis
    assert "1 × ml.g5.xlarge" in record.cost.basis
    assert (record.width, record.height, record.seed) == (64, 64, items[0].seed)
    # Run again: nothing left, nothing submitted.
    again = _runner(store, job_id, out, library, async_server.url, s3_url)
    assert again.run().state == "finished" and again.submitted_here == 0
    assert async_server.async_invocations.accepted == 4


@pytest.mark.slow
def test_a_resume_polls_what_is_in_flight_and_never_submits_it_again(
        tmp_path: Path, store: BatchStore, library: Library, async_server, s3_url) -> None:
    job_id, out = make_job(tmp_path, store, products=1, seeds=2)  # 4 items
    client = AsyncEndpoint.open("local", S3Prefix.parse("s3://run/batch"), region="us-east-1",
                                endpoint_url=async_server.url, s3_endpoint_url=s3_url)
    codec = AsyncPayloads("studio")
    request = GenerationRequest(prompt="x", seed=0, width=64, height=64, steps=1)
    # As if killed after two submissions were recorded and one was sent but not recorded.
    items = store.items(job_id)
    for item in items[:2]:
        body = codec.encode(request.replace(prompt=item.prompt, seed=item.seed)).body
        location = client.write_request(f"item-{item.idx}", body)
        store.mark_submitting(job_id, item.idx, f"pre-{item.idx}", location)
        answer = client.submit(location, inference_id=f"pre-{item.idx}")
        store.mark_submitted(job_id, item.idx, answer.inference_id, answer.output_location,
                             answer.failure_location)
    store.mark_submitting(job_id, items[2].idx, "lost-2", "s3://run/batch/requests/x.json")
    summary = _runner(store, job_id, out, library, async_server.url, s3_url).run()
    # The two in flight were polled, the fourth submitted, the ambiguous one left alone.
    assert async_server.async_invocations.accepted == 3
    assert (summary.done, summary.failed, summary.state) == (3, 0, "stopped")
    assert "not submitted again" in summary.message
    assert store.item(job_id, items[2].idx).status == "submitting"
    # With --retry-ambiguous it goes again, its first try counted as billed.
    retried = _runner(store, job_id, out, library, async_server.url, s3_url,
                      retry_ambiguous=True).run()
    assert (retried.state, retried.done) == ("finished", 4)
    assert async_server.async_invocations.accepted == 4
    assert store.item(job_id, items[2].idx).billed_attempts == 2


def _out_of_memory(job: Any, model: Any) -> Any:
    raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")


def test_a_failure_file_fails_its_item_with_the_reason(
        tmp_path: Path, store: BatchStore, library: Library, tiny_endpoint_model,
        s3_url) -> None:
    from backends.endpoint import inference

    handler = types.SimpleNamespace(input_fn=inference.input_fn, predict_fn=_out_of_memory,
                                    output_fn=inference.output_fn,
                                    BadRequest=inference.BadRequest)
    with EndpointServer(tiny_endpoint_model, handler=handler, port=0) as broken:
        broken.enable_async(s3_client(s3_url), "s3://run/results")
        job_id, out = make_job(tmp_path, store, products=1, seeds=1)
        summary = _runner(store, job_id, out, library, broken.url, s3_url).run()
    assert (summary.state, summary.failed, summary.done) == ("failed", 2, 0)
    reason = summary.failures[0][2]
    assert reason.startswith("The endpoint failed on this request: Received server error "
                             "(500)") and "CUDA out of memory" in reason
    assert store.item(job_id, 0).billed_attempts == 1  # the endpoint's time on it is paid
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["failures"]) == 2


def test_an_output_that_never_appears_times_out(
        tmp_path: Path, store: BatchStore, library: Library, tiny_endpoint_model,
        s3_url) -> None:
    with EndpointServer(tiny_endpoint_model, port=0, delay_s=3.0) as slow:
        slow.enable_async(s3_client(s3_url), "s3://run/results")
        job_id, out = make_job(tmp_path, store, products=1, seeds=1)
        runner = _runner(store, job_id, out, library, slow.url, s3_url, timeout_s=0.5)
        started = time.monotonic()
        summary = runner.run()
        assert time.monotonic() - started < 3.0
    assert summary.failed == 2
    assert "within 0.5 s of submitting" in summary.failures[0][2]


def test_a_missing_bucket_is_refused_before_anything_is_submitted(
        tmp_path: Path, store: BatchStore, library: Library, async_server, s3_url) -> None:
    job_id, out = make_job(tmp_path, store, products=1, seeds=1)
    runner = _runner(store, job_id, out, library, async_server.url, s3_url, bucket="nowhere")
    summary = runner.run()
    assert (summary.state, summary.stop_kind) == ("stopped", "input")
    assert "The S3 bucket nowhere does not exist" in summary.message
    assert async_server.async_invocations.accepted == 0
    assert {i.status for i in store.items(job_id)} == {"pending"}


def test_an_endpoint_that_is_not_async_stops_the_job_with_nothing_billed(
        tmp_path: Path, store: BatchStore, library: Library, endpoint_server, s3_url) -> None:
    job_id, out = make_job(tmp_path, store, products=1, seeds=1)
    summary = _runner(store, job_id, out, library, endpoint_server.url, s3_url).run()
    assert (summary.state, summary.stop_kind) == ("stopped", "input")
    assert "--s3-endpoint-url" in summary.message
    assert {i.status for i in store.items(job_id)} == {"pending"}
