"""`studio generate` with today's families: defaults, licence, editing by words and LoRAs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from studio.cli.main import main
from studio.library.png_metadata import request_from_png

SMALL = ["--width", "64", "--height", "64", "--device", "cpu", "--json"]


def _lines(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_a_family_runs_without_steps_or_guidance_and_says_family_and_licence(
        tiny_family_path, capsys) -> None:
    code = main(["generate", "--model", str(tiny_family_path("flux1")), "--prompt", "a mug",
                 "--seed", "1", *SMALL])
    assert code == 0
    (line,) = _lines(capsys)
    assert (line["family"], line["licence"], line["commercial_use"]) == (
        "flux1-schnell", "Apache-2.0", True)
    assert (line["steps"], line["guidance"]) == (4, 0.0)


def test_edit_by_words_from_the_cli(tiny_family_path, tmp_path, capsys) -> None:
    photo = tmp_path / "bag.png"
    Image.new("RGB", (64, 64), (180, 90, 30)).save(photo)
    code = main(["generate", "--model", str(tiny_family_path("flux1-kontext")), "--init-image",
                 str(photo), "--edit", "make the background a marble counter", "--steps", "2",
                 *SMALL])
    assert code == 0
    (line,) = _lines(capsys)
    assert line["mode"] == "edit" and line["family"] == "flux1-kontext"
    assert line["prompt"] == "make the background a marble counter"
    assert line["commercial_use"] is False


@pytest.mark.parametrize(("args", "message"), [
    (["--edit", "make it blue"], "give it with --init-image"),
    (["--edit", "make it blue", "--init-image", "{photo}", "--prompt", "x"], "leave out --prompt"),
    (["--prompt", "x", "--sampler", "euler_a"], "cannot use the sampler 'euler_a'"),
    (["--prompt", "x", "--lora", "style.safetensors:heavy"], "is not a weight"),
    (["--prompt", "x", "--lora", "style.ckpt"], "pickle"),
])
def test_bad_edits_samplers_and_loras_exit_2_with_a_reason(tiny_family_path, tmp_path, capsys,
                                                           args, message) -> None:
    photo = tmp_path / "bag.png"
    Image.new("RGB", (64, 64)).save(photo)
    args = [a.replace("{photo}", str(photo)) for a in args]
    code = main(["generate", "--model", str(tiny_family_path("flux1")), *args, *SMALL])
    assert code == 2
    assert message in capsys.readouterr().err


def test_a_lora_from_the_cli_is_recorded_and_restored_from_the_png(
        tiny_family_path, tiny_lora, capsys) -> None:
    lora = tiny_lora("flux1")
    code = main(["generate", "--model", str(tiny_family_path("flux1")), "--prompt", "a mug",
                 "--lora", f"{lora}:0.7", "--steps", "2", *SMALL])
    assert code == 0
    (line,) = _lines(capsys)
    assert line["loras"] == [{"source": str(lora), "name": "style", "weight": 0.7}]
    with Image.open(line["library_path"]) as image:
        assert image.text["parameters"].startswith("a mug <lora:style:0.7>\n")
    restored = request_from_png(Path(line["library_path"]))
    assert [(x.source, x.weight) for x in restored.loras] == [(str(lora), 0.7)]
    assert restored.prompt == "a mug"


@pytest.mark.parametrize("speed", ["fast", "fastest"])
def test_speed_profiles_from_the_cli_say_what_they_applied(tiny_family_path, capsys,
                                                           speed) -> None:
    code = main(["generate", "--model", str(tiny_family_path("flux1")), "--prompt", "a mug",
                 "--speed", speed, "--steps", "2", *SMALL])
    assert code == 0
    (line,) = _lines(capsys)
    assert line["speed"] == speed
    assert line["accelerations"][0] == f"speed {speed}: fp32"
    assert "fused QKV projections" in line["accelerations"]
    assert any(note.startswith("not applied: compile") for note in line["accelerations"])


def test_the_default_speed_is_fast_and_settings_can_choose_exact(tiny_family_path,
                                                                 capsys) -> None:
    from studio.settings.values import load_settings, save_settings

    assert main(["generate", "--model", str(tiny_family_path("flux1")), "--prompt", "a mug",
                 "--steps", "2", *SMALL]) == 0
    assert _lines(capsys)[0]["speed"] == "fast"
    save_settings(load_settings().replace(speed="exact"))
    assert main(["generate", "--model", str(tiny_family_path("flux1")), "--prompt", "a mug",
                 "--steps", "2", *SMALL]) == 0
    assert _lines(capsys)[0]["accelerations"] == ["speed exact: fp32"]


def test_an_unwritable_out_is_refused_before_anything_is_generated(tiny_sd_path, tmp_path,
                                                                    capsys) -> None:
    from studio.library import Library

    (tmp_path / "file.txt").write_text("x")
    code = main(["generate", "--model", str(tiny_sd_path), "--prompt", "a mug", "--out",
                 str(tmp_path / "file.txt" / "images"), *SMALL])
    assert code == 2
    err = capsys.readouterr().err
    assert "cannot be created" in err and "is a file, not a folder" in err
    assert "Traceback" not in err
    with Library.open_default() as library:
        assert library.count() == 0  # nothing was generated, nothing was spent


def test_out_copies_follow_the_umask(tiny_sd_path, tmp_path, capsys) -> None:
    import os
    import stat

    if os.name != "posix":
        pytest.skip("file modes are POSIX")
    old = os.umask(0o022)
    try:
        code = main(["generate", "--model", str(tiny_sd_path), "--prompt", "a mug", "--steps",
                     "1", "--out", str(tmp_path / "out"), *SMALL])
    finally:
        os.umask(old)
    assert code == 0
    (copied,) = (tmp_path / "out").glob("*.png")
    assert stat.S_IMODE(copied.stat().st_mode) == 0o644
