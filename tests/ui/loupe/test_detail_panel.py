from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QUrl
from PySide6.QtGui import QGuiApplication

from backends.types import Cost, Timings
from studio.library import ImageRecord, Library
from studio.ui.loupe import record_text
from studio.ui.loupe.detail_panel import EMPTY_TEXT, DetailPanel
from tests.ui.record_factory import record_image


@pytest.fixture
def record(lib: Library) -> ImageRecord:
    return record_image(
        lib, "red sneaker, <b>studio</b> light", negative="blurry", seed=1234, steps=25,
        guidance=6.5, timings=Timings(load_s=0.5, network_s=0.3, inference_s=2.0,
                                      decode_s=0.2, total_s=3.0),
        cost=Cost(0.04, "4 cents an image on the test price book", estimated=False),
        estimate=Cost(0.03, "price book estimate"),
    )


def _text(panel: DetailPanel, key: str) -> str:
    return panel.value_labels[key].text()


def test_empty_state_until_a_record_is_shown(panel: DetailPanel, record: ImageRecord) -> None:
    assert panel._stack.currentWidget() is panel._empty
    assert panel._empty.text() == EMPTY_TEXT
    assert not any(action.isEnabled() for action in panel.record_actions())

    panel.show_record(record)
    assert panel._stack.currentWidget() is panel._content
    assert all(action.isEnabled() for action in panel.record_actions())

    panel.show_record(None)
    assert panel._stack.currentWidget() is panel._empty
    assert panel.record is None


def test_showing_a_record_fills_parameters_timings_and_cost(
    qtbot, panel: DetailPanel, record: ImageRecord
) -> None:
    panel.show_record(record)

    assert _text(panel, "prompt") == "red sneaker, <b>studio</b> light"  # as text, not markup
    assert _text(panel, "negative") == "Negative: blurry"
    expected = {
        "model": "sd-turbo", "mode": "txt2img", "seed": "1234", "steps": "25",
        "guidance": "6.5", "sampler": "Euler a", "size": "96×64", "count": "1",
        "backend": "local", "device": "cuda",
        "created": record.created_at.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
        "load": "0.50 s", "queue": "0.00 s", "network": "0.30 s", "inference": "2.00 s",
        "decode": "0.20 s", "total": "3.00 s",
        "load_share": "17%", "inference_share": "67%",
        "cost": "$0.04 per image (measured)",
        "cost_basis": "4 cents an image on the test price book",
        "estimate": "Estimated before the run: $0.03 (actual +33%) — price book estimate",
    }
    assert {key: _text(panel, key) for key in expected} == expected
    assert panel.value_labels["strength"].isHidden()
    assert panel.value_labels["other"].isHidden()  # the parts add up to the total
    assert [label for label, _ in panel.info.timing_bar.parts()] == [
        "Load", "Network", "Inference", "Decode"
    ]

    qtbot.waitUntil(lambda: panel.image_view.image() is not None, timeout=5000)
    assert panel.image_view.image().size().toTuple() == (96, 64)


def test_img2img_record_shows_its_strength(panel: DetailPanel, lib: Library) -> None:
    init = Image.new("RGB", (96, 64), (20, 120, 200))
    record = record_image(lib, init_image=init, strength=0.4)
    panel.show_record(record)
    assert _text(panel, "mode") == "img2img"
    assert _text(panel, "strength") == "0.4"
    assert not panel.value_labels["strength"].isHidden()
    assert panel.value_labels["negative"].isHidden()
    assert panel.value_labels["estimate"].isHidden()


@pytest.mark.parametrize(
    ("action", "signal"),
    [
        ("reuse_action", "reuse_requested"),
        ("keep_seed_action", "keep_seed_requested"),
        ("init_image_action", "init_image_requested"),
    ],
)
def test_iterate_actions_emit_the_record(
    qtbot, panel: DetailPanel, record: ImageRecord, action: str, signal: str
) -> None:
    panel.show_record(record)
    with qtbot.waitSignal(getattr(panel, signal), timeout=1000) as blocker:
        getattr(panel.image_actions, action).trigger()
    assert blocker.args == [record]


def test_variations_emit_the_record_and_the_count(
    qtbot, panel: DetailPanel, record: ImageRecord
) -> None:
    panel.show_record(record)
    assert panel.variation_count == 4
    with qtbot.waitSignal(panel.variations_requested, timeout=1000) as blocker:
        panel.image_actions.variations_action.trigger()
    assert blocker.args == [record, 4]

    panel.set_variation_count(7)
    with qtbot.waitSignal(panel.variations_requested, timeout=1000) as blocker:
        panel.image_actions.variations_action.trigger()
    assert blocker.args == [record, 7]


def test_actions_do_nothing_without_a_record(qtbot, panel: DetailPanel) -> None:
    with qtbot.assertNotEmitted(panel.reuse_requested):
        panel.image_actions.reuse_action.trigger()
        panel.image_actions.delete()
        panel.image_actions.copy_image()
        panel.image_actions.export()


def test_favourite_persists_in_the_library(
    qtbot, panel: DetailPanel, lib: Library, record: ImageRecord
) -> None:
    panel.show_record(record)
    assert not panel.image_actions.favourite_action.isChecked()

    with qtbot.waitSignal(panel.notifier.changed, timeout=1000) as blocker:
        panel.image_actions.favourite_action.trigger()
    assert blocker.args[0].id == record.id and blocker.args[0].favourite
    assert lib.get(record.id).favourite
    assert panel.image_actions.favourite_action.isChecked() and panel.record.favourite
    assert panel.image_actions.favourite_action.text().startswith("★")

    with qtbot.waitSignal(panel.notifier.changed, timeout=1000) as blocker:
        panel.image_actions.favourite_action.trigger()
    assert not blocker.args[0].favourite
    assert not lib.get(record.id).favourite and not panel.record.favourite


def test_a_favourite_marked_elsewhere_shows(panel: DetailPanel, lib: Library,
                                            record: ImageRecord) -> None:
    panel.show_record(record)
    lib.set_favourite(record.id, True)  # another pane, the CLI: the library says so
    assert panel.record.favourite and panel.image_actions.favourite_action.isChecked()
    other = record_image(lib, "another")
    lib.set_favourite(other.id, True)
    assert panel.record.id == record.id


def test_a_locked_library_is_explained(qtbot, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    with Library.open(tmp_path / "impatient", busy_timeout_s=0.05) as library:
        record = record_image(library)
        panel = DetailPanel(library)
        qtbot.addWidget(panel)
        errors: list[tuple[str, str]] = []
        monkeypatch.setattr(panel.image_actions, "_show_error",
                            lambda title, text: errors.append((title, text)))
        monkeypatch.setattr(panel.image_actions, "_confirm_delete", lambda shown: True)
        panel.show_record(record)
        other_program = sqlite3.connect(library.db_path, isolation_level=None)
        other_program.execute("BEGIN IMMEDIATE")
        try:
            panel.image_actions.favourite_action.trigger()
            panel.image_actions.delete_action.trigger()
        finally:
            other_program.execute("ROLLBACK")
            other_program.close()
        assert [title for title, _ in errors] == ["Could not change the favourite",
                                                  "Could not delete the image"]
        assert all("locked by another program" in text for _, text in errors)
        assert not panel.image_actions.favourite_action.isChecked()
        assert panel.record == record and library.get(record.id) == record
        panel.notifier.detach()


def test_delete_needs_confirmation(
    qtbot, panel: DetailPanel, lib: Library, record: ImageRecord,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    panel.show_record(record)
    asked: list[ImageRecord] = []

    def refuse(shown: ImageRecord) -> bool:
        asked.append(shown)
        return False

    monkeypatch.setattr(panel.image_actions, "_confirm_delete", refuse)
    with qtbot.assertNotEmitted(panel.notifier.removed):
        panel.image_actions.delete_action.trigger()
    assert asked == [record]
    assert lib.get(record.id) is not None and record.path.exists()
    assert panel.record == record

    monkeypatch.setattr(panel.image_actions, "_confirm_delete", lambda shown: True)
    with qtbot.waitSignal(panel.notifier.removed, timeout=1000) as blocker:
        panel.image_actions.delete_action.trigger()
    assert blocker.args == [[record.id]]
    assert lib.get(record.id) is None
    assert not record.path.exists()
    assert panel.record is None and panel._stack.currentWidget() is panel._empty


def test_copy_puts_the_full_size_image_on_the_clipboard(
    qtbot, panel: DetailPanel, record: ImageRecord
) -> None:
    clipboard = QGuiApplication.clipboard()
    clipboard.clear()
    panel.show_record(record)
    # Straight from disk, whether or not the view has loaded.
    panel.image_actions.copy_action.trigger()
    assert clipboard.image().size().toTuple() == (96, 64)

    clipboard.clear()
    qtbot.waitUntil(lambda: panel.image_view.image() is not None, timeout=5000)
    panel.image_actions.copy_action.trigger()
    assert clipboard.image().size().toTuple() == (96, 64)


def test_export_writes_the_png_with_its_parameters(
    qtbot, panel: DetailPanel, record: ImageRecord, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    panel.show_record(record)
    target = tmp_path / "exports" / "my-shot"  # no suffix: the export adds .png
    monkeypatch.setattr(panel.image_actions, "_ask_export_path", lambda shown: target)
    with qtbot.waitSignal(panel.exported, timeout=1000) as blocker:
        panel.image_actions.export_action.trigger()

    written = tmp_path / "exports" / "my-shot.png"
    assert blocker.args == [record, written]
    assert written.read_bytes() == record.path.read_bytes()
    with Image.open(written) as image:
        assert "Seed: 1234," in image.text["parameters"]
        assert "studio" in image.text
    assert not list(written.parent.glob(".tmp-*"))

    monkeypatch.setattr(panel.image_actions, "_ask_export_path", lambda shown: None)  # cancelled
    with qtbot.assertNotEmitted(panel.exported):
        panel.image_actions.export_action.trigger()


def test_export_failure_is_reported_not_raised(
    panel: DetailPanel, record: ImageRecord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    errors: list[str] = []
    monkeypatch.setattr(panel.image_actions, "_ask_export_path", lambda shown: blocker / "x.png")
    monkeypatch.setattr(panel.image_actions, "_show_error",
                        lambda title, text: errors.append(title))
    panel.show_record(record)
    panel.image_actions.export_action.trigger()
    assert errors == ["Could not export the image"]


def test_suggested_export_name_is_safe(lib: Library) -> None:
    record = record_image(lib, "A red/sneaker: on white!! ../../etc  «Été»", seed=7)
    assert record_text.suggested_filename(record) == "a-red-sneaker-on-white-etc-été_7.png"
    record = record_image(lib, "!!!", seed=8)
    assert record_text.suggested_filename(record) == "studio-image_8.png"
    long = record_image(lib, " ".join(["word"] * 40), seed=9)
    assert len(record_text.suggested_filename(long)) <= 60 + len("_9.png")


def test_open_folder_opens_the_images_folder(
    panel: DetailPanel, record: ImageRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[QUrl] = []
    monkeypatch.setattr(panel.image_actions, "_open_url", lambda url: opened.append(url) or True)
    panel.show_record(record)
    panel.image_actions.open_folder_action.trigger()
    assert opened == [QUrl.fromLocalFile(str(record.path.parent))]


def test_missing_file_is_explained(
    qtbot, panel: DetailPanel, record: ImageRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    record.path.unlink()
    errors: list[str] = []
    monkeypatch.setattr(panel.image_actions, "_show_error",
                        lambda title, text: errors.append(title))
    panel.show_record(record)
    assert "missing" in panel.image_view.placeholder()
    panel.image_actions.copy_action.trigger()
    panel.image_actions.export_action.trigger()
    assert errors == ["Could not copy the image", "Could not export the image"]


def test_context_actions_and_library_switch(
    panel: DetailPanel, record: ImageRecord, tmp_path: Path
) -> None:
    actions = panel.context_actions()
    assert panel.image_actions.delete_action in actions
    assert panel.image_actions.reuse_action in actions
    assert sum(action.isSeparator() for action in actions) == 2

    panel.show_record(record)
    with Library.open(tmp_path / "other") as other:
        panel.notifier.attach(other)  # Settings does this through the window's notifier
        assert panel.library is other and panel.record is None
        panel.notifier.detach()


def test_an_image_deleted_elsewhere_leaves_the_panel(panel: DetailPanel, lib: Library,
                                                     record: ImageRecord) -> None:
    other = record_image(lib, "another")
    panel.show_record(record)
    lib.delete(other.id)
    assert panel.record == record
    lib.delete(record.id)
    assert panel.record is None and panel._stack.currentWidget() is panel._empty


def test_money_and_seconds_read_well() -> None:
    assert record_text.format_usd(0) == "$0.00"
    assert record_text.format_usd(0.000043) == "< $0.0001"
    assert record_text.format_usd(0.0042) == "$0.0042"
    assert record_text.format_usd(0.04) == "$0.04"
    assert record_text.format_usd(12.5) == "$12.50"
    assert record_text.format_seconds(0.25) == "0.25 s"
    assert record_text.format_seconds(42.42) == "42.4 s"
    assert record_text.format_seconds(125) == "2 min 05 s"
    summary = record_text.timing_summary(Timings(load_s=1, inference_s=2, total_s=3.5))
    assert summary == "3.50 s (load 1.00 s, inference 2.00 s, other 0.50 s)"


def test_ctrl_c_in_the_loupe_copies_the_file_and_the_pixels(
    qtbot, panel: DetailPanel, record: ImageRecord
) -> None:
    from PySide6.QtCore import Qt

    clipboard = QGuiApplication.clipboard()
    clipboard.clear()
    panel.show_record(record)
    panel.activateWindow()
    panel.image_view.setFocus()
    qtbot.waitUntil(lambda: panel.isActiveWindow() and panel.image_view.hasFocus()
                    or panel.focusWidget() is not None, timeout=2000)
    with qtbot.waitSignal(panel.copied, timeout=2000) as copied:
        qtbot.keyClick(panel.focusWidget() or panel, Qt.Key.Key_C,
                       Qt.KeyboardModifier.ControlModifier)
    assert copied.args == [1]
    mime = clipboard.mimeData()
    assert [url.toLocalFile() for url in mime.urls()] == [str(record.path)]
    assert clipboard.image().size().toTuple() == (96, 64)


def test_a_live_image_says_so_beside_its_backend(panel: DetailPanel, lib: Library) -> None:
    import dataclasses

    from tests.library.results import make_result

    (live,) = lib.record(make_result("typed live", count=1), live=True)
    panel.show_record(live)
    assert _text(panel, "backend") == "local · live mode"
    panel.show_record(dataclasses.replace(live, live=False))
    assert _text(panel, "backend") == "local"
