"""Costs in the window: the Costs settings page, the budget cap, today's totals, the
endpoint's burn rate, the estimate on the Generate button, and "Compare backends…"."""

from __future__ import annotations

import dataclasses

import pytest

from studio.settings.store import SettingsStore
from studio.settings.values import CostSettings, SageMakerSettings
from studio.ui.settings.dialog import SettingsDialog

WAIT_MS = 60_000


def test_the_costs_page_saves_a_budget_and_price_overrides(qtbot) -> None:
    store = SettingsStore()
    dialog = SettingsDialog(store)
    qtbot.addWidget(dialog)
    page = dialog.page("costs")
    assert "(price book)" in page.sagemaker.placeholderText()
    assert "as of" in page.sagemaker.toolTip()
    page.budget.setText("$2.50")
    page.sagemaker.setText("1,2")
    assert dialog.apply()
    assert store.settings.costs == CostSettings(budget_usd_per_day=2.5,
                                                sagemaker_usd_per_hour=1.2)
    page.bedrock.setText("cheap")
    page.budget.setText("-1")
    assert not dialog.apply()
    assert "must be a number" in page.form.error_text(page.bedrock)
    assert "from 0 to" in page.form.error_text(page.budget)


def set_costs(window, **costs) -> None:
    store = window.context.settings
    store.update(store.settings.replace(costs=CostSettings(**costs)))


def test_a_budget_of_zero_refuses_work_before_it_starts(qtbot, window) -> None:
    set_costs(window, budget_usd_per_day=0.0)
    window.prompt_panel.set_prompt("a lamp")
    assert window.generate() is None
    assert "Stopped before this generation" in window.message_label.text()
    assert window.context.jobs.active_jobs() == []
    assert "of $0.00 budget" in window.totals_status.text()


def test_the_estimate_shows_on_the_generate_button(qtbot, window) -> None:
    window.prompt_panel.set_prompt("a lamp")
    # "≈ $0.0031", or "< $0.0001" for the tiny model's trace of energy.
    qtbot.waitUntil(lambda: " $" in window.generate_button.text())


def test_today_and_the_endpoint_burn_rate_show_in_the_status_bar(qtbot, window,
                                                                aws_env) -> None:
    assert "Today: 0 images" in window.totals_status.text()
    store = window.context.settings
    store.update(store.settings.replace(
        backend="sagemaker", sagemaker=SageMakerSettings(endpoint_name="e", region="us-east-1",
                                                         instance_count=2)))
    tip = window.totals_status.toolTip()
    assert "bills $2.816/h ($67.58/day) while it is up, used or not" in tip
    assert "no images yet" in tip


def test_compare_backends_runs_the_prompt_on_each_and_opens_them_side_by_side(
        qtbot, window, endpoint_server, aws_env) -> None:
    store = window.context.settings
    store.update(store.settings.replace(sagemaker=dataclasses.replace(
        store.settings.sagemaker, endpoint_name="test", region="us-east-1",
        endpoint_url=endpoint_server.url)))
    window.prompt_panel.set_prompt("a ceramic mug on oak")
    dialog = window.compare_backends()
    qtbot.addWidget(dialog)
    dialog.checks["local"].setChecked(True)
    dialog.checks["sagemaker"].setChecked(True)
    assert not dialog.checks["bedrock"].isChecked()
    with qtbot.waitSignal(dialog.compared, timeout=WAIT_MS) as opened:
        assert dialog.run()
    compare = opened.args[0]
    qtbot.addWidget(compare)
    records = compare.view.records()
    assert sorted(r.backend for r in records) == ["local", "sagemaker"]
    assert len({r.seed for r in records}) == 1
    assert all(r.estimate is not None for r in records)
    assert compare in window.compare_dialogs


def test_compare_backends_needs_two(qtbot, window) -> None:
    window.prompt_panel.set_prompt("a lamp")
    dialog = window.compare_backends()
    qtbot.addWidget(dialog)
    for box in dialog.checks.values():
        box.setChecked(False)
    dialog.checks["local"].setChecked(True)
    assert not dialog.run()
    assert "Choose 2 to 4" in dialog.status.text()


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
