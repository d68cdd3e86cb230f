"""The product-photo dialog: import, the mask shown and refined by brush, scenes queued."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from backends.types import GenerationRequest
from studio.product import ProductSceneBackend, place_product
from studio.product.importing import load_product_photo
from studio.product.project import find_project
from studio.ui.product.dialog import ProductDialog
from tests.fake_hub import fake_hub_fixture  # noqa: F401 - registers fake_hub
from tests.product.photos import rgba_product
from tests.ui.product.window_dialog import window_dialog_with_bottle

WAIT_MS = 60_000


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[GenerationRequest, object]] = []

    def __call__(self, request, backend):
        self.calls.append((request, backend))
        return object()


def _mug_dialog(qtbot, folder, steps: int):
    """A dialog over a fake backend whose scenes go to a Recorder, and a PNG mug cut-out:
    (dialog, the photo's path, the recorder, the cut-out's true mask)."""
    cutout, expected = rgba_product((96, 80))
    path = folder / "mug.png"
    cutout.save(path)
    submit = Recorder()
    template = GenerationRequest(prompt="x", width=128, height=96, steps=steps, seed=5)
    dialog = ProductDialog(lambda: _FakeBackend(), lambda: template, submit)
    qtbot.addWidget(dialog)
    return dialog, path, submit, expected


def test_the_mask_is_shown_refined_and_scenes_are_queued(qtbot, tmp_path) -> None:
    dialog, path, submit, expected = _mug_dialog(qtbot, tmp_path, steps=2)
    dialog.resize(600, 700)
    dialog.show()
    assert dialog.load_photo(path) and dialog.mask_origin == "alpha"
    assert np.array_equal(np.asarray(dialog.editor.mask()), np.asarray(expected))
    dialog.eraser.setChecked(True)
    dialog.brush_size.setValue(6)
    rect = dialog.editor.image_rect()
    middle = rect.center()
    QTest.mousePress(dialog.editor, Qt.MouseButton.LeftButton, pos=middle.toPoint())
    QTest.mouseMove(dialog.editor, (middle + QPointF(rect.width() / 6, 0)).toPoint())
    QTest.mouseRelease(dialog.editor, Qt.MouseButton.LeftButton,
                       pos=(middle + QPointF(rect.width() / 6, 0)).toPoint())
    refined = np.asarray(dialog.editor.mask())
    assert dialog.mask_origin == "painted" and refined[40, 48] == 0
    assert set(np.unique(refined).tolist()) == {0, 255}  # still strictly product or not
    dialog.scenes_edit.setPlainText("on marble\n\n in a café \n")
    dialog.per_scene_spin.setValue(2)
    assert dialog.generate() == 2
    assert [request.prompt for request, _ in submit.calls] == ["on marble", "in a café"]
    for request, backend in submit.calls:
        assert request.count == 2 and request.mode == "inpaint" and request.seed == 5
        assert (request.width, request.height) == (128, 96)
        assert isinstance(backend, ProductSceneBackend)
    saved = find_project(load_product_photo(path))
    assert saved.mask_origin == "painted" and np.array_equal(np.asarray(saved.mask), refined)


def test_a_bad_photo_or_no_scene_says_what_to_do(qtbot, tmp_path) -> None:
    dialog = ProductDialog(lambda: _FakeBackend(), lambda: None, Recorder())
    qtbot.addWidget(dialog)
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 nope")
    assert not dialog.load_photo(tmp_path / "broken.jpg")
    assert "could not be read" in dialog.message_label.text()
    assert dialog.generate() == 0 and "Import a product photo" in dialog.message_label.text()


def test_scenes_from_the_window_land_in_the_gallery_with_the_product_kept(
        qtbot, window, tmp_path) -> None:
    dialog, path = window_dialog_with_bottle(window, tmp_path)
    assert dialog.mask_origin == "grabcut"
    dialog.scenes_edit.setPlainText("on a marble counter")
    with qtbot.waitSignal(window.context.jobs.finished, timeout=WAIT_MS) as finished:
        assert dialog.generate() == 1
    _, result, records = finished.args
    qtbot.waitUntil(lambda: window.gallery.model.rowCount() == 1)
    assert records[0].latency_s > 0 and records[0].cost.usd > 0
    placed = place_product(load_product_photo(path), dialog.editor.mask(), (64, 64),
                           dialog.placement())
    inside = np.asarray(placed.mask) == 255
    with Image.open(records[0].path) as saved:
        assert np.array_equal(np.asarray(saved.convert("RGB"))[inside],
                              np.asarray(placed.source)[inside])


class _FakeBackend:
    name = "fake"


def _red_on_blue_jpeg(path) -> None:
    pixels = np.zeros((80, 96, 3), np.uint8)
    pixels[...] = (30, 60, 200)
    pixels[20:60, 30:70] = (220, 40, 30)
    Image.fromarray(pixels, "RGB").save(path, quality=95)


def test_harmonise_is_off_by_default_and_goes_into_the_scenes_placement(qtbot, tmp_path) -> None:
    dialog, path, submit, _ = _mug_dialog(qtbot, tmp_path, steps=4)
    assert not dialog.harmonise_check.isChecked() and not dialog.harmonise_spin.isEnabled()
    assert "second generation" in dialog.harmonise_check.toolTip()
    assert (dialog.harmonise_spin.minimum(), dialog.harmonise_spin.maximum()) == (0.05, 0.6)
    assert dialog.placement().harmonise == 0.0
    dialog.harmonise_check.setChecked(True)
    assert dialog.harmonise_spin.isEnabled()
    dialog.harmonise_spin.setValue(0.25)
    assert dialog.load_photo(path)
    dialog.scenes_edit.setPlainText("on marble")
    assert dialog.generate() == 1
    (_, backend), = submit.calls
    assert backend.placed.placement.harmonise == 0.25


def test_a_grabcut_mask_offers_the_cutout_model_and_offline_says_so(qtbot, tmp_path) -> None:
    path = tmp_path / "thing.jpg"
    _red_on_blue_jpeg(path)
    dialog = ProductDialog(lambda: _FakeBackend(), lambda: None, Recorder())
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.load_photo(path) and dialog.mask_origin == "grabcut"
    assert "GrabCut" in dialog.origin_label.text()
    assert dialog.cutout_fetch.isVisible()
    before = np.asarray(dialog.editor.mask()).copy()
    qtbot.mouseClick(dialog.cutout_fetch.button, Qt.MouseButton.LeftButton)  # HF_HUB_OFFLINE
    qtbot.waitUntil(lambda: not dialog.cutout_fetch.running and
                    dialog.cutout_fetch.button.isEnabled(), timeout=WAIT_MS)
    message = dialog.cutout_fetch.message.text()
    assert "Could not fetch the cut-out model" in message and "cannot be reached" in message
    assert dialog.mask_origin == "grabcut"
    assert np.array_equal(np.asarray(dialog.editor.mask()), before)


def test_fetching_the_cutout_model_reruns_the_mask_with_it(qtbot, tmp_path, monkeypatch,
                                                          fake_hub) -> None:
    pytest.importorskip("onnxruntime")
    from studio import onnx_models
    from tests.tiny_onnx import cutout_row, save_cutout_model, use_table

    use_table(monkeypatch, tmp_path, "cutout", [cutout_row()])
    fake_hub.files["tests/tiny-cutout/onnx/model.onnx"] = save_cutout_model(
        tmp_path / "served.onnx").read_bytes()
    path = tmp_path / "thing.jpg"
    _red_on_blue_jpeg(path)
    dialog = ProductDialog(lambda: _FakeBackend(), lambda: None, Recorder())
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.load_photo(path) and dialog.mask_origin == "grabcut"
    dialog.cutout_fetch.endpoint = fake_hub.url
    progress: list[tuple[int, int]] = []
    dialog.cutout_fetch._bridge.progress.connect(lambda done, total: progress.append(
        (done, total)))
    qtbot.mouseClick(dialog.cutout_fetch.button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.mask_origin == "model:tiny-cutout", timeout=WAIT_MS)
    assert onnx_models.find_model("cutout").is_fetched()
    assert progress and progress[-1][0] == progress[-1][1] > 0  # the bar reached the end
    assert "cut-out model tiny-cutout" in dialog.origin_label.text()
    assert not dialog.cutout_fetch.isVisible()
    mask = np.asarray(dialog.editor.mask()) >= 128
    assert mask[25:55, 35:65].all() and not mask[:10].any()  # the red block, nothing else
