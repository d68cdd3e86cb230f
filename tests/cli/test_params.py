"""`studio params FILE`: which tool wrote an image, and the settings it holds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from studio.cli.main import main

FOREIGN = Path(__file__).parents[1] / "library" / "data" / "foreign"


@pytest.mark.parametrize(("name", "tool", "prompt"), [
    ("automatic1111_cropped.png", "AUTOMATIC1111", "photo of a duck"),
    ("automatic1111_stealth.png", "AUTOMATIC1111", "a circle"),
    ("img2img_cropped.png", "ComfyUI", "photograph of victorian woman with wings"),
    ("invokeai_imeta1.png", "InvokeAI", "digital artwork, oil painting."),
    ("fooocus1_cropped.png", "Fooocus", "a smiling goldfish"),
    ("novelai1_cropped.png", "NovelAI", "masterpiece, best quality,  cat"),
])
def test_params_reads_each_tool(name: str, tool: str, prompt: str,
                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["params", str(FOREIGN / name), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["tool"] == tool and data["file"].endswith(name)
    assert data["request"]["prompt"].startswith(prompt)


def test_params_text_names_the_tool_and_what_it_left_out(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["params", str(FOREIGN / "night_evening_day_morning_cropped.png")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "night_evening_day_morning_cropped.png: written by ComfyUI (PNG text chunks)"
    assert "  steps      13" in out and "  CFG scale  8.5" in out and "  size       704×1280" in out
    assert "  model      Anything-V3.0.ckpt" in out
    assert "Not used:" in out
    assert any(line.startswith("  - seed 335608130539327") for line in out)
    assert not any(line.startswith("  seed ") for line in out)


def test_params_shows_the_sampler_mapping(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["params", str(FOREIGN / "novelai1_cropped.png")]) == 0
    assert "  sampler    k_euler_ancestral → euler_a" in capsys.readouterr().out


def test_params_without_settings_exits_2_with_the_exact_message(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "x.png"
    Image.new("RGB", (4, 4)).save(path)
    assert main(["params", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == ("studio: error: x.png carries no generation settings Studio can "
                            "read (looked for: A1111, ComfyUI, InvokeAI, Fooocus, NovelAI, "
                            "Studio)\n")


def test_params_on_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["params", str(tmp_path / "gone.png")]) == 2
    assert "'gone.png' does not exist" in capsys.readouterr().err
