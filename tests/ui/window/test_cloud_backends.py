"""Switching the window to a cloud backend in Settings, without a restart, then generating.

Real boto3 talks over HTTP to servers on 127.0.0.1 that speak the services' wire protocols:
the Bedrock fake from the Bedrock tests, and our own SageMaker endpoint server.
"""

from __future__ import annotations

import dataclasses

import pytest

from tests.backends.bedrock.fake_bedrock_server import FakeBedrock

WAIT_MS = 60_000


def _switch_and_generate(qtbot, window, **settings_changes):
    store = window.context.settings
    store.update(store.settings.replace(**settings_changes))
    assert window.backend_status.text().startswith(
        {"bedrock": "Amazon Bedrock", "sagemaker": "SageMaker"}[settings_changes["backend"]])
    window.prompt_panel.set_prompt("a teapot on a linen tablecloth")
    with qtbot.waitSignal(window.context.jobs.finished, timeout=WAIT_MS) as finished:
        window.generate()
    job, result, records = finished.args
    qtbot.waitUntil(lambda: window.gallery.model.rowCount() == len(records))
    return records


def test_choosing_bedrock_in_settings_then_generating(qtbot, window, aws_env) -> None:
    server = FakeBedrock().start()
    try:
        settings = window.context.settings.settings
        bedrock = dataclasses.replace(settings.bedrock, endpoint_url=server.url)
        assert (bedrock.model, bedrock.region) == ("stability.sd3-5-large-v1:0", "us-west-2")
        # Stability models take an aspect ratio: 1344×768 is 16:9.
        window.params_panel.width_spin.setValue(1344)
        window.params_panel.height_spin.setValue(768)
        records = _switch_and_generate(qtbot, window, backend="bedrock", bedrock=bedrock)
    finally:
        server.stop()
    record = records[0]
    assert (record.backend, record.width, record.height) == ("bedrock", 1344, 768)
    assert record.model == "stability.sd3-5-large-v1:0"
    assert record.cost.usd == pytest.approx(0.08) and not record.cost.estimated
    assert record.estimate is not None and record.estimate.usd == pytest.approx(0.08)
    assert record.timings.network_s > 0
    assert "Session: 1 images" in window.totals_status.text()


def test_choosing_sagemaker_in_settings_then_generating(qtbot, window, aws_env,
                                                        endpoint_server) -> None:
    settings = window.context.settings.settings
    sagemaker = dataclasses.replace(settings.sagemaker, endpoint_name="studio-test",
                                    region="us-east-1", endpoint_url=endpoint_server.url,
                                    instance_type="ml.g5.xlarge", instance_count=1)
    records = _switch_and_generate(qtbot, window, backend="sagemaker", sagemaker=sagemaker)
    record = records[0]
    assert (record.backend, record.width) == ("sagemaker", 64)
    assert record.timings.inference_s > 0 and record.timings.network_s >= 0
    assert record.cost.usd > 0 and "ml.g5.xlarge" in record.cost.basis
