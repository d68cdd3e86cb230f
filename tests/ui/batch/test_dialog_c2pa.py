"""The batch dialog signs exports with the Content Credentials set in Settings."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from studio.settings.values import ContentCredentialsSettings
from studio.ui.batch.dialog import BatchDialog
from tests.library.test_c2pa_signing import make_credentials

c2pa = pytest.importorskip("c2pa")


def open_dialog(qtbot, context, tmp_path: Path, out: Path) -> BatchDialog:
    catalog = tmp_path / "catalog.csv"
    catalog.write_text("sku,title\nT-1,tee\n", encoding="utf-8")
    dialog = BatchDialog(context)
    qtbot.addWidget(dialog)
    dialog.catalog_edit.setText(str(catalog))
    dialog.template_edit.setText("a {title}")
    dialog.out_edit.setText(str(out))
    return dialog


def test_exports_are_signed_with_the_settings_credentials(qtbot, context, tmp_path: Path) -> None:
    cert, key = make_credentials(tmp_path)
    context.settings.update(context.settings.settings.replace(
        content_credentials=ContentCredentialsSettings(str(cert), str(key))))
    out = tmp_path / "export"
    dialog = open_dialog(qtbot, context, tmp_path, out)
    dialog.update_preview()
    assert f"Content Credentials: every file signed with {cert}" in \
        dialog.preview_text.toPlainText()
    assert dialog.start() is not None
    qtbot.waitUntil(lambda: dialog.summary is not None, timeout=120_000)
    assert dialog.summary.state == "finished"
    (row,) = json.loads((out / "manifest.json").read_text())["images"]
    assert row["c2pa"] == "signed"
    with c2pa.Reader("image/png", io.BytesIO((out / row["file"]).read_bytes())) as reader:
        store = json.loads(reader.json())
    codes = {s["code"] for s in store.get("validation_status", [])}
    assert codes <= {"signingCredential.untrusted"}


def test_a_key_that_cannot_sign_stops_the_dialog_before_a_job_exists(
        qtbot, context, tmp_path: Path) -> None:
    cert, key = make_credentials(tmp_path, other_key=True)
    context.settings.update(context.settings.settings.replace(
        content_credentials=ContentCredentialsSettings(str(cert), str(key))))
    dialog = open_dialog(qtbot, context, tmp_path, tmp_path / "export")
    assert dialog.start() is None
    assert "C2PA signing failed" in dialog.status.text()
    assert dialog.store.jobs() == [] and context.library.count() == 0
