"""The batch dialog on SageMaker's asynchronous engine, fully offline: real widgets, real boto3
over HTTP to `studio endpoint serve`'s in-process server (its async route on the tiny model)
and a moto S3 server. The engine choice, the checks before a job exists, a run to the end, and
a cancel whose in-flight requests a second run collects without submitting them again."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from studio.ui.batch.dialog import BatchDialog
from tests.s3_server import moto_s3_server, s3_client

WAIT_MS = 60_000


def catalog(tmp_path: Path, products: int, photos: bool = False) -> Path:
    path = tmp_path / "catalog.csv"
    header = "sku,title" + (",image" if photos else "")
    rows = "".join(f"P-{i:02d},item {i}" + (f",https://example.com/p{i}.jpg" if photos else "")
                   + "\n" for i in range(products))
    path.write_text(f"{header}\n{rows}", encoding="utf-8")
    return path


@pytest.fixture
def s3_url(aws_env, monkeypatch) -> Any:
    """A moto S3 with the bucket `run`, found as boto3 finds S3 (AWS_ENDPOINT_URL_S3)."""
    with moto_s3_server() as url:
        s3_client(url).create_bucket(Bucket="run")
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", url)
        yield url


def use_sagemaker(context: Any, endpoint_url: str) -> None:
    store = context.settings
    sagemaker = dataclasses.replace(store.settings.sagemaker, endpoint_name="local",
                                    region="us-east-1", endpoint_url=endpoint_url,
                                    instance_type="ml.g5.xlarge", instance_count=1)
    store.update(store.settings.replace(backend="sagemaker", sagemaker=sagemaker))


def async_dialog(qtbot, context: Any, tmp_path: Path, products: int, s3_uri: str,
                 photos: bool = False) -> BatchDialog:
    dialog = BatchDialog(context)
    qtbot.addWidget(dialog)
    dialog.async_poll_s = 0.05
    dialog.catalog_edit.setText(str(catalog(tmp_path, products, photos)))
    dialog.template_edit.setText("a {title}")
    dialog.out_edit.setText(str(tmp_path / "export"))
    dialog.update_preview()
    dialog.engine.engine_combo.setCurrentIndex(dialog.engine.engine_combo.findData("async"))
    dialog.engine.s3_edit.setText(s3_uri)
    return dialog


def request_objects(s3_url: str) -> int:
    listed = s3_client(s3_url).list_objects_v2(Bucket="run", Prefix="batch/requests/")
    return len(listed.get("Contents", []))


@pytest.fixture
def async_server(tiny_endpoint_model: Any, s3_url: str) -> Any:
    from backends.endpoint.server import EndpointServer

    with EndpointServer(tiny_endpoint_model, port=0) as server:
        server.enable_async(s3_client(s3_url), "s3://run/results")
        yield server


def test_the_engine_choice_is_offered_on_sagemaker_only(qtbot, aws_env, context) -> None:
    dialog = BatchDialog(context)
    qtbot.addWidget(dialog)
    assert not dialog.engine.isVisibleTo(dialog)  # the local backend: item by item
    assert not dialog.engine.is_async()
    use_sagemaker(context, "http://127.0.0.1:9")
    dialog.update_preview()
    assert dialog.engine.isVisibleTo(dialog)
    combo = dialog.engine.engine_combo
    assert [combo.itemData(i) for i in range(combo.count())] == ["realtime", "async"]
    assert combo.currentData() == "realtime"  # today's behaviour by default
    assert "studio batch" in combo.toolTip() and "--mode transform" in combo.toolTip()
    assert not dialog.engine.s3_edit.isVisibleTo(dialog)
    combo.setCurrentIndex(combo.findData("async"))
    assert dialog.engine.is_async()
    assert dialog.engine.s3_edit.isVisibleTo(dialog)
    assert dialog.engine.timeout_s() == 3600.0


def test_a_bad_s3_uri_or_a_missing_bucket_is_refused_before_a_job_exists(
        qtbot, context, tmp_path, s3_url) -> None:
    use_sagemaker(context, "http://127.0.0.1:9")  # never reached: S3 is checked first
    dialog = async_dialog(qtbot, context, tmp_path, 1, "")
    assert dialog.start() is None
    assert "needs an S3 prefix (s3://BUCKET/PREFIX)" in dialog.status.text()
    dialog.engine.s3_edit.setText("run/batch")
    assert dialog.start() is None
    assert "The S3 prefix must be s3://BUCKET[/PREFIX] (got 'run/batch')" in \
        dialog.status.text()
    dialog.engine.s3_edit.setText("s3://absent/batch")
    assert dialog.start() is None
    assert "The S3 bucket absent does not exist" in dialog.status.text()
    assert "fix the S3 prefix" in dialog.status.text()
    assert dialog.store.jobs() == []
    assert not (tmp_path / "export").exists()


def test_a_catalog_with_product_photos_is_refused_in_async_mode(
        qtbot, aws_env, context, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")  # never reached
    use_sagemaker(context, "http://127.0.0.1:9")
    dialog = async_dialog(qtbot, context, tmp_path, 2, "s3://run/batch", photos=True)
    assert dialog.start() is None
    assert ("async makes images from text only in this build; the catalog has product "
            "photos (image)") in dialog.status.text()
    assert dialog.store.jobs() == []


@pytest.mark.slow
def test_an_async_batch_runs_from_the_dialog_to_the_end(qtbot, context, tmp_path, s3_url,
                                                         async_server) -> None:
    use_sagemaker(context, async_server.url)
    dialog = async_dialog(qtbot, context, tmp_path, 3, "s3://run/batch")
    job_id = dialog.start()
    assert job_id is not None
    assert dialog.preview_text.toPlainText().startswith(
        "Async endpoint local: 1 × ml.g5.xlarge at $")
    mode, saved = dialog.store.remote_mode(job_id)
    assert mode == "async" and saved["s3_uri"] == "s3://run/batch"
    assert saved["timeout_s"] == 3600.0
    qtbot.waitUntil(lambda: dialog.summary is not None, timeout=WAIT_MS)
    summary = dialog.summary
    assert (summary.state, summary.done, summary.failed) == ("finished", 3, 0), summary.message
    # Each item submitted once: three 202s, three request objects in S3.
    assert async_server.async_invocations.accepted == 3 == request_objects(s3_url)
    assert summary.spent_usd > 0  # instance-hours while work was in flight
    assert f"Batch job {job_id} finished: 3/3 images, 0 failed, $" in dialog.status.text()
    # The runner's events reached the dialog as a real-time run's do.
    assert (dialog.progress.value(), dialog.progress.maximum()) == (3, 3)
    out = tmp_path / "export"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["job"]["mode"] == "async"
    assert sorted(row["file"] for row in manifest["images"]) == \
        sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png"))
    assert len(manifest["images"]) == 3
    assert context.library.count() == 3
    assert context.session.totals.images == 3  # through the app's generation loop


@pytest.mark.slow
def test_cancel_leaves_submitted_requests_in_flight_and_a_second_run_collects_them(
        qtbot, context, tmp_path, s3_url, async_server) -> None:
    use_sagemaker(context, async_server.url)
    dialog = async_dialog(qtbot, context, tmp_path, 4, "s3://run/batch")
    job_id = dialog.start()
    assert job_id is not None
    qtbot.waitUntil(lambda: dialog.store.job(job_id).counts["submitted"]
                    + dialog.store.job(job_id).counts["done"] >= 1, timeout=WAIT_MS)
    dialog.toggle_pause()  # no new submission; what is submitted is still collected
    assert dialog.runner.paused and dialog.pause_button.text() == "Resume"
    assert dialog.status.text().startswith(("Pausing — waiting for", "Paused: nothing"))
    dialog.cancel()
    qtbot.waitUntil(lambda: dialog.summary is not None, timeout=WAIT_MS)
    assert dialog.summary.state == "cancelled"
    counts = dialog.store.job(job_id).counts
    assert counts["running"] == counts["submitting"] == 0
    if counts["submitted"]:
        assert "stay in flight at the endpoint" in dialog.status.text()
    submitted_before = async_server.async_invocations.accepted
    assert submitted_before == counts["submitted"] + counts["done"]

    dialog.summary = None
    dialog.run_job(job_id)  # as a resume: the job's mode picks the async runner
    assert type(dialog.runner).__name__ == "AsyncBatchRunner"
    qtbot.waitUntil(lambda: dialog.summary is not None, timeout=WAIT_MS)
    assert (dialog.summary.state, dialog.summary.done) == ("finished", 4)
    # Nothing submitted twice: the ones in flight were polled, the rest submitted once.
    assert async_server.async_invocations.accepted == 4 == request_objects(s3_url)
    assert all(item.attempts == 1 for item in dialog.store.items(job_id))
