"""`studio product cutout-model|upscaler list|fetch`: what is here, and fetching on request."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio import onnx_models
from studio.cli.main import main
from tests.fake_hub import fake_hub_fixture  # noqa: F401 - registers fake_hub


def test_list_shows_the_tables_and_the_fallback(capsys) -> None:
    assert main(["product", "cutout-model", "list"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[0].startswith("birefnet-lite") and "not fetched" in out
    assert "MIT" in out and "onnx-community/BiRefNet_lite-ONNX/onnx/model.onnx" in out
    assert "Studio uses GrabCut" in err
    assert main(["product", "upscaler", "list"]) == 0
    out, err = capsys.readouterr()
    assert "realesrgan-x4plus" in out and "×4" in out and "Studio uses Lanczos" in err


def test_a_fetched_model_is_listed_in_use_and_not_fetched_again(capsys, monkeypatch,
                                                                tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    from tests.tiny_onnx import cutout_row, save_cutout_model, use_table

    use_table(monkeypatch, tmp_path, "cutout", [cutout_row("tiny-a"), cutout_row("tiny-b")])
    save_cutout_model(onnx_models.find_model("cutout", "tiny-b").path)
    assert main(["product", "cutout-model", "list"]) == 0
    out, _ = capsys.readouterr()
    lines = {line.split()[0]: line for line in out.splitlines()}
    assert "not fetched" in lines["tiny-a"] and "in use" in lines["tiny-b"]
    assert main(["product", "cutout-model", "fetch", "tiny-b"]) == 0
    assert "already here" in capsys.readouterr().err


def test_fetching_offline_exits_3_and_an_unknown_name_exits_2(capsys) -> None:
    assert main(["product", "upscaler", "fetch"]) == 3
    err = capsys.readouterr().err
    assert "Fetching Real-ESRGAN x4plus" in err and "cannot be reached" in err
    assert "Traceback" not in err
    assert main(["product", "cutout-model", "fetch", "nope"]) == 2
    assert "choose one of birefnet-lite, isnet-general" in capsys.readouterr().err


def test_a_fetch_reports_its_progress_on_stderr(capsys, monkeypatch, tmp_path: Path,
                                                fake_hub) -> None:
    pytest.importorskip("onnxruntime")
    from studio.cli.product_models import FetchProgress
    from tests.tiny_onnx import cutout_row, save_cutout_model, use_table

    use_table(monkeypatch, tmp_path, "cutout", [cutout_row()])
    model = onnx_models.find_model("cutout")
    fake_hub.files["tests/tiny-cutout/onnx/model.onnx"] = save_cutout_model(
        tmp_path / "served.onnx").read_bytes()
    onnx_models.fetch_model(model, endpoint=fake_hub.url, progress=FetchProgress)
    err = capsys.readouterr().err
    assert "model.onnx: 100% of 0.0 MB" in err and model.is_fetched()
