"""`studio generate` and `studio history` run as a user runs them: a real process, real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image


def studio(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "STUDIO_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "studio.cli.main", *args], capture_output=True,
                          text=True, env=env, timeout=300)


TINY = ["--width", "64", "--height", "64", "--steps", "3"]


def test_generate_json_records_png_with_metadata_and_history_finds_it(tiny_sd_path, studio_home,
                                                                      tmp_path) -> None:
    out = tmp_path / "exports"
    run = studio("generate", "--model", str(tiny_sd_path), "--prompt", "walnut desk organiser",
                 "--negative", "blurry", "--seed", "7", "--count", "2", "--out", str(out),
                 "--json", *TINY, home=studio_home)
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert [line["seed"] for line in lines] == [7, 8]
    for line in lines:
        assert {"path", "seed", "model", "backend", "device", "timings", "latency_s", "cost_usd",
                "cost_basis"} <= set(line)
        assert line["backend"] == "local" and line["model"] == "tiny-sd"
        assert line["latency_s"] > 0 and line["cost_usd"] > 0 and "kWh" in line["cost_basis"]
        assert set(line["timings"]) >= {"load_s", "queue_s", "inference_s", "decode_s", "total_s"}
        assert Path(line["path"]).parent == out
        with Image.open(line["library_path"]) as image:
            assert image.size == (64, 64)
            assert image.text["parameters"].startswith("walnut desk organiser\nNegative prompt: "
                                                       "blurry\nSteps: 3")
            assert json.loads(image.text["studio"])["seed"] == line["seed"]
        assert Path(line["library_path"]).is_relative_to(studio_home)

    found = studio("history", "--search", "walnut", "--json", home=studio_home)
    assert found.returncode == 0, found.stderr
    assert sorted(json.loads(x)["seed"] for x in found.stdout.splitlines()) == [7, 8]
    missing = studio("history", "--search", "chandelier", "--json", home=studio_home)
    assert missing.returncode == 0 and missing.stdout == ""


def test_generate_human_output_shows_latency_breakdown_and_cost(tiny_sd_path, studio_home) -> None:
    run = studio("generate", "--model", str(tiny_sd_path), "--prompt", "mug", *TINY,
                 home=studio_home)
    assert run.returncode == 0, run.stderr
    assert "inference" in run.stdout and "$" in run.stdout and "Estimated cost" in run.stderr
    listed = studio("history", home=studio_home)
    assert "mug" not in listed.stderr and "seed" in listed.stdout


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--width", "65"], 2, "multiple of 8"),
        (["--steps", "0"], 2, "Steps must be"),
        (["--model", "/nonexistent/model"], 3, "was not found"),
        (["--init-image", "{corrupt}"], 2, "could not be read as an image"),
        (["--model", "{pickle}"], 2, "pickle"),
    ],
)
def test_bad_input_fails_on_stderr_with_a_nonzero_exit(tiny_sd_path, studio_home, tmp_path, args,
                                                       code, message) -> None:
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG garbage")
    pickle = tmp_path / "model.ckpt"
    pickle.write_bytes(b"\x80\x04")
    args = [a.format(corrupt=corrupt, pickle=pickle) for a in args]
    base = ["--model", str(tiny_sd_path), "--prompt", "x", *TINY]
    run = studio("generate", *base, *args, home=studio_home)
    assert run.returncode == code
    assert message in run.stderr and run.stdout == ""
    assert "Traceback" not in run.stderr


def test_no_model_configured_tells_the_user_what_to_do(studio_home) -> None:
    run = studio("generate", "--prompt", "x", *TINY, home=studio_home)
    assert run.returncode == 2
    assert "No model is selected" in run.stderr


def test_image_to_image_from_the_cli(tiny_sd_path, studio_home, tmp_path) -> None:
    source = tmp_path / "product.png"
    Image.new("RGB", (96, 96), (10, 120, 200)).save(source)
    run = studio("generate", "--model", str(tiny_sd_path), "--prompt", "x", "--init-image",
                 str(source), "--strength", "0.7", "--json", *TINY, home=studio_home)
    assert run.returncode == 0, run.stderr
    record = json.loads(run.stdout)
    with Image.open(record["library_path"]) as image:
        assert "Denoising strength: 0.7" in image.text["parameters"]
