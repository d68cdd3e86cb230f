"""Fetching ONNX models: from a local server that speaks the hub's download protocol (HEAD then
GET on /<repo>/resolve/<revision>/<file>), checked before they take their place."""

from __future__ import annotations

from pathlib import Path

import pytest

from backends.errors import InvalidRequest
from studio import onnx_models
from tests.fake_hub import FakeHub, fake_hub_fixture  # noqa: F401 - registers fake_hub
from tests.tiny_onnx import cutout_row, save_cutout_model, use_table

pytest.importorskip("onnxruntime")
pytest.importorskip("huggingface_hub")


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> onnx_models.OnnxModel:
    use_table(monkeypatch, tmp_path, "cutout", [cutout_row()])
    return onnx_models.find_model("cutout")


def test_a_fetched_model_takes_its_place_and_opens(fake_hub: FakeHub, model, tmp_path) -> None:
    fake_hub.files["tests/tiny-cutout/onnx/model.onnx"] = save_cutout_model(
        tmp_path / "served.onnx").read_bytes()
    path = onnx_models.fetch_model(model, endpoint=fake_hub.url)
    assert path == model.path and model.is_fetched()
    assert [p.name for p in path.parent.iterdir()] == ["model.onnx"]  # no staging left
    assert onnx_models.session_for(model).get_inputs()[0].name == "input_image"
    served = len(fake_hub.requests)
    onnx_models.fetch_model(model, endpoint=fake_hub.url)  # already here: nothing downloaded
    assert len(fake_hub.requests) == served


def test_a_download_that_is_not_onnx_never_takes_its_place(fake_hub: FakeHub, model) -> None:
    fake_hub.files["tests/tiny-cutout/onnx/model.onnx"] = b"\x80\x04\x95 a pickled checkpoint"
    with pytest.raises(InvalidRequest, match="pickle"):
        onnx_models.fetch_model(model, endpoint=fake_hub.url)
    assert not model.is_fetched() and not any(model.path.parent.iterdir())


def test_a_broken_download_is_refused_and_an_old_copy_kept(fake_hub: FakeHub, model,
                                                            tmp_path) -> None:
    good = save_cutout_model(model.path).read_bytes()
    fake_hub.files["tests/tiny-cutout/onnx/model.onnx"] = good[:40]  # cut short
    with pytest.raises(InvalidRequest, match="damaged or not a valid ONNX model"):
        onnx_models.fetch_model(model, force=True, endpoint=fake_hub.url)
    assert model.path.read_bytes() == good


def test_a_file_missing_from_the_hub_is_named(fake_hub: FakeHub, model) -> None:
    with pytest.raises(InvalidRequest, match="tests/tiny-cutout/onnx/model.onnx is not on the"):
        onnx_models.fetch_model(model, endpoint=fake_hub.url)
    assert not model.is_fetched()
