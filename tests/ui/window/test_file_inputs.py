"""Images dropped on the window: other tools' settings restored, PNG/JPEG/WebP as init image."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QEvent, QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QFileOpenEvent
from PySide6.QtWidgets import QApplication

from studio.ui.window.file_open import FileOpenFilter
from studio.ui.window.image_input import ImageInput, dropped_images

FOREIGN = Path(__file__).parents[2] / "library" / "data" / "foreign"


def _mime(*paths: Path) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path)) for path in paths])
    return mime


def _drop(widget, *paths: Path, shift: bool = False) -> QDropEvent:
    modifiers = Qt.KeyboardModifier.ShiftModifier if shift else Qt.KeyboardModifier.NoModifier
    mime = _mime(*paths)  # the event does not own it: it must outlive the event's use
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, modifiers)
    widget.dropEvent(event)
    event.mime = mime  # type: ignore[attr-defined]
    return event


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP", "PNG"])
def test_a_dropped_image_without_settings_becomes_the_init_image(window, tmp_path: Path,
                                                                  fmt: str) -> None:
    path = tmp_path / f"photo.{fmt.lower()}"
    Image.new("RGB", (48, 40), (10, 200, 30)).save(path, fmt)
    window.prompt_panel.set_prompt("kept")
    event = _drop(window, path)
    assert event.isAccepted()
    assert window.params_panel.init_image is not None
    assert window.params_panel.init_image.size == (48, 40)
    assert window.params_panel.init_image.getpixel((5, 5))[1] > 150
    assert window.prompt_panel.prompt() == "kept"
    assert window.statusBar().currentMessage() == f"photo.{fmt.lower()} is the init image"


def test_dropping_a_comfyui_png_restores_its_settings(window) -> None:
    window.params_panel.seed_edit.setText("5")
    _drop(window, FOREIGN / "night_evening_day_morning_cropped.png")
    assert window.prompt_panel.prompt().startswith("(best quality) (daytime:1.2) sky (blue)")
    assert window.params_panel.steps_spin.value() == 13
    assert window.params_panel.guidance_spin.value() == 8.5
    assert (window.params_panel.width_spin.value(),
            window.params_panel.height_spin.value()) == (704, 1280)
    assert window.params_panel.seed_edit.text() == "5"  # its 64-bit seed is not usable
    message = window.statusBar().currentMessage()
    assert message.startswith("Restored the ComfyUI parameters of night_evening_day_morning")
    assert "not used: " in message and "seed 335608130539327" in message
    assert window.params_panel.init_image is None


def test_fooocus_restores_its_prompt_instead_of_asking_for_one(window) -> None:
    assert window.restore_from_png(FOREIGN / "fooocus1_cropped.png")
    assert window.prompt_panel.prompt() == "a smiling goldfish"
    assert window.params_panel.steps_spin.value() == 30
    assert window.message_label.text() == ""


def test_a_stealth_png_dropped_restores_its_settings(window) -> None:
    _drop(window, FOREIGN / "automatic1111_stealth.png")
    assert window.prompt_panel.prompt() == "a circle"
    assert window.prompt_panel.negative() == "a square"
    assert window.params_panel.seed_edit.text() == "2015833630"
    assert window.params_panel.sampler_combo.currentData() == "euler"


def test_shift_drop_takes_an_image_with_settings_as_the_init_image(window) -> None:
    window.prompt_panel.set_prompt("mine")
    _drop(window, FOREIGN / "automatic1111_stealth.png", shift=True)
    assert window.prompt_panel.prompt() == "mine"
    assert window.params_panel.init_image is not None
    assert window.params_panel.init_image.size == (64, 64)


def test_a_broken_image_shows_why(window, tmp_path: Path) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not really")
    _drop(window, broken)
    assert "broken.jpg is not a PNG, JPEG or WebP image" in window.message_label.text()
    assert window.params_panel.init_image is None


def test_drags_are_accepted_only_with_images(window, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("x")
    photo = tmp_path / "a.WebP"
    assert dropped_images(_mime(notes, photo)) == [photo]
    for paths, accepted in (((notes,), False), ((notes, photo), True)):
        mime = _mime(*paths)
        event = QDragEnterEvent(QPoint(5, 5), Qt.DropAction.CopyAction, mime,
                                Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
        event.ignore()
        window.dragEnterEvent(event)
        assert event.isAccepted() is accepted


def test_an_image_input_takes_a_dropped_image(qtbot, tmp_path: Path) -> None:
    field = ImageInput("mask")
    qtbot.addWidget(field)
    assert field.acceptDrops()
    path = tmp_path / "mask.webp"
    Image.new("RGB", (20, 10), "white").save(path, "WEBP")
    with qtbot.waitSignal(field.changed):
        _drop(field, path)
    assert field.image is not None and field.image.size == (20, 10)
    assert field.name_label.text() == "20×10"


def test_the_os_can_open_jpeg_and_webp_too(qapp: QApplication) -> None:
    files = FileOpenFilter()
    opened: list[Path] = []
    files.set_handler(opened.append)
    for name in ("a.jpg", "b.webp", "c.JPEG", "notes.txt"):
        files.eventFilter(qapp, QFileOpenEvent(QUrl.fromLocalFile(f"/tmp/{name}")))
    assert opened == [Path("/tmp/a.jpg"), Path("/tmp/b.webp"), Path("/tmp/c.JPEG")]
    assert QEvent.Type.FileOpen


def test_ctrl_c_in_the_grid_copies_the_image_and_says_so(qtbot, window) -> None:
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtTest import QTest

    from tests.ui.record_factory import record_image

    record = record_image(window.context.library, "copy me", size=(96, 64))
    qtbot.waitUntil(lambda: window.gallery.model.rowCount() == 1)
    window.gallery.view.select_ids([record.id])
    window.gallery.view.setFocus()
    QTest.keyClick(window.gallery.view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    clipboard = QGuiApplication.clipboard()
    assert [url.toLocalFile() for url in clipboard.mimeData().urls()] == [str(record.path)]
    assert (clipboard.image().width(), clipboard.image().height()) == (96, 64)
    assert window.statusBar().currentMessage() == "Copied 1 image (file and picture)"
