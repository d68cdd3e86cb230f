"""`studio batch` against an endpoint that fails 20% of its calls in every way a SageMaker
endpoint does: one invocation finishes, every image is made or its failure itemised with its
reason, and every generation the endpoint did is counted as a billed attempt."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from backends.sagemaker import SageMakerBackend
from studio.batch.store import BatchStore
from studio.cli.main import main
from studio.costs.lost_attempts import LostAttempts
from studio.costs.spending import start_of_day
from tests.batch.fault_server import KINDS, FaultSchedule, FaultyEndpoint

READ_TIMEOUT_S = 4.0  # the client's; a read-timeout fault holds the answer longer


def catalog(tmp_path: Path, products: int) -> Path:
    path = tmp_path / "catalog.csv"
    path.write_text("sku,title\n" + "".join(f"P-{i:02d},mug {i}\n" for i in range(products)),
                    encoding="utf-8")
    return path


@pytest.fixture
def short_read_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """The backend the CLI builds waits READ_TIMEOUT_S for an answer instead of 70 s."""
    defaults = dict(SageMakerBackend.__init__.__kwdefaults__ or {})
    monkeypatch.setattr(SageMakerBackend.__init__, "__kwdefaults__",
                        {**defaults, "read_timeout_s": READ_TIMEOUT_S})


def run_batch(tmp_path: Path, endpoint: FaultyEndpoint, products: int, capsys,
              *extra: str) -> tuple[int, list[dict], dict]:
    out = tmp_path / "export.zip"
    code = main(["batch", str(catalog(tmp_path, products)), "--template", "a {title}",
                 "--backend", "sagemaker", "--endpoint", "test", "--endpoint-url", endpoint.url,
                 "--width", "64", "--height", "64", "--steps", "1", "--seed", "1",
                 "--concurrency", "4", "--retries", "3", "--retry-delay", "0.01",
                 "--out", str(out), "--json", *extra])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    with zipfile.ZipFile(out) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    return code, lines, manifest


@pytest.mark.slow
def test_a_fault_injected_batch_completes_and_counts_every_billed_attempt(
        tmp_path: Path, tiny_endpoint_model, aws_env, short_read_timeout, capsys) -> None:
    schedule = FaultSchedule(seed=18, share=0.2, block=50)
    with FaultyEndpoint(tiny_endpoint_model, schedule, hold_s=READ_TIMEOUT_S + 0.5) as endpoint:
        code, lines, manifest = run_batch(tmp_path, endpoint, 50, capsys)

    summary = lines[-1]
    assert summary["event"] == "summary"
    # One invocation: no fault stopped the batch (exit 3) and nothing is left to resume.
    assert code == 1 and summary["state"] == "failed", summary
    assert summary["done"] + summary["failed"] == 50
    assert all(endpoint.faults[kind] >= 1 for kind in KINDS), endpoint.faults

    # Every image is in the manifest or itemised as a failure with its reason.
    images, failures = manifest["images"], manifest["failures"]
    assert len(images) == summary["done"] and len(failures) == summary["failed"]
    assert {row["sku"] for row in images} | {row["sku"] for row in failures} == \
        {f"P-{i:02d}" for i in range(50)}
    reasons = [failure["reason"] for failure in failures]
    assert all(reasons)
    assert any("CUDA out of memory" in reason for reason in reasons)  # the 424s
    ambiguous = [f for f in failures if "--retry-ambiguous" in f["reason"]]
    assert any("Read timeout after the request was sent" in f["reason"] for f in ambiguous)
    assert any("reset after the request was sent" in f["reason"] for f in ambiguous)
    assert all(f["billed_attempts"] >= 1 and f["lost_usd"] > 0 for f in ambiguous)
    # Throttling and 503s were retried and are not billed: no item failed of them alone.
    assert not any("throttled" in reason or "temporary problem" in reason for reason in reasons)

    # No uncounted paid work: the billed attempts cover every generation the endpoint did.
    job = manifest["job"]
    assert job["billed_attempts"] >= endpoint.generations
    assert job["lost_attempts"] >= endpoint.generations - len(images)
    made = sum(row["cost_usd"] for row in images)
    assert job["spent_usd"] == pytest.approx(made + job["lost_usd"], abs=1e-6)  # 6 decimals
    assert job["lost_usd"] > 0
    # …and today's spending (the daily cap) counts the lost attempts too.
    lost_today = LostAttempts().usd_since(start_of_day())
    assert lost_today == pytest.approx(job["lost_usd"], abs=1e-6)

    # `studio batch --list ID` itemises the same failures.
    assert main(["batch", "--list", str(job["id"]), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert sorted(f["reason"] for f in listed["failures"]) == sorted(reasons)
    assert listed["billed_attempts"] == job["billed_attempts"]


@pytest.mark.slow
def test_with_retry_ambiguous_lost_attempts_are_retried_and_each_is_counted(
        tmp_path: Path, tiny_endpoint_model, aws_env, short_read_timeout, capsys) -> None:
    # 20 calls, 10 of them faults: two of each kind.
    schedule = FaultSchedule(seed=7, share=0.5, block=20)
    with FaultyEndpoint(tiny_endpoint_model, schedule, hold_s=READ_TIMEOUT_S + 0.5) as endpoint:
        # Enough retries that no item runs out of them, whichever faults land on it: which
        # item meets which fault depends on the workers' order.
        code, lines, manifest = run_batch(tmp_path, endpoint, 12, capsys, "--retry-ambiguous",
                                          "--retries", "10")

    summary = lines[-1]
    assert summary["done"] + summary["failed"] == 12
    failures = manifest["failures"]
    # Only the model errors fail: the lost attempts were tried again and delivered.
    assert all("CUDA out of memory" in f["reason"] for f in failures), [
        f["reason"][:150] for f in failures]
    assert code == (1 if failures else 0)
    retried = [row for row in manifest["images"] if row["billed_attempts"] > 1]
    assert retried and all(row["attempts"] >= row["billed_attempts"] for row in retried)
    assert manifest["job"]["billed_attempts"] >= endpoint.generations
    assert any(line["event"] == "lost" for line in lines)
    store = BatchStore()
    assert sum(i.billed_attempts for i in store.items(1)) == manifest["job"]["billed_attempts"]
