"""Before a batch on a model whose licence forbids commercial use, the dialog asks; Cancel
starts nothing and keeps the dialog open. Steps and guidance left to the model (None in
the settings) reach the batch as None."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from studio.ui.batch.dialog import BatchDialog
from tests.batch.fakes import FakeBackend


def _catalog(tmp_path: Path) -> Path:
    path = tmp_path / "catalog.csv"
    path.write_text("sku,name\nT-1,tee\nM-2,mug\n", encoding="utf-8")
    return path


@pytest.fixture
def dialog(qtbot, flux_context, tmp_path, monkeypatch) -> tuple[BatchDialog, FakeBackend]:
    # The settings choose the FLUX.1 [dev]-like folder; the images come from a fake backend.
    backend = FakeBackend(usd=0.0)
    monkeypatch.setattr(flux_context.backends, "current", lambda: backend)
    widget = BatchDialog(flux_context)
    qtbot.addWidget(widget)
    widget.show()
    widget.catalog_edit.setText(str(_catalog(tmp_path)))
    widget.template_edit.setText("a {name}")
    widget.out_edit.setText(str(tmp_path / "out"))
    return widget, backend


def _answer_warning(button: str, seen: list[str]) -> None:
    """Answer the licence question when it shows, noting its text."""
    def answer() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, answer)
            return
        seen.append(box.text())
        chosen = next(b for b in box.buttons() if b.text().replace("&", "") == button)
        chosen.click()

    QTimer.singleShot(0, answer)


def test_cancel_at_the_licence_warning_starts_nothing(qtbot, dialog) -> None:
    widget, backend = dialog
    assert widget.update_preview() is not None
    assert "Non-Commercial License" in widget.preview_text.toPlainText()
    seen: list[str] = []
    _answer_warning("Cancel", seen)
    assert widget.start() is None
    assert len(seen) == 1 and "FLUX.1 [dev]" in seen[0] and "commercial use" in seen[0]
    assert widget.isVisible() and widget.runner is None
    assert widget.store.jobs() == []
    assert "Not started" in widget.status.text()
    assert backend.calls == []


def test_start_anyway_runs_with_the_models_own_steps(qtbot, dialog) -> None:
    widget, backend = dialog
    seen: list[str] = []
    _answer_warning("Start anyway", seen)
    job_id = widget.start()
    assert job_id is not None and len(seen) == 1
    qtbot.waitUntil(lambda: widget.summary is not None, timeout=30_000)
    assert widget.summary.state == "finished" and widget.summary.done == 2
    # Settings leave steps and guidance to the model: the batch sends None.
    assert {(r.steps, r.guidance) for r in backend.calls} == {(None, None)}


def test_a_commercial_model_starts_without_asking(qtbot, context, tmp_path,
                                                  monkeypatch) -> None:
    backend = FakeBackend(usd=0.0)
    monkeypatch.setattr(context.backends, "current", lambda: backend)
    widget = BatchDialog(context)  # the tiny SD 1.x: CreativeML OpenRAIL-M, commercial
    qtbot.addWidget(widget)
    monkeypatch.setattr(widget, "_confirm_licence",
                        lambda warning: pytest.fail(f"asked: {warning}"))
    widget.catalog_edit.setText(str(_catalog(tmp_path)))
    widget.template_edit.setText("a {name}")
    widget.out_edit.setText(str(tmp_path / "out"))
    assert widget.start() is not None
    qtbot.waitUntil(lambda: widget.summary is not None, timeout=30_000)
    assert widget.summary.done == 2
