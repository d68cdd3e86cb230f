"""`studio check DIR --preset NAME`: a line (or JSON object) per image, and the exit codes."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from studio.batch.presets import get_preset
from studio.cli.main import main

ROOT = Path(__file__).resolve().parents[2]


def product_shot() -> Image.Image:
    image = Image.new("RGB", (400, 400), "white")
    ImageDraw.Draw(image).ellipse((60, 20, 340, 380), fill=(200, 40, 40))
    return image


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def export(tmp_path: Path) -> Path:
    """An eBay export: two good images (one in a SKU's subfolder) and an unrelated file."""
    folder = tmp_path / "export"
    folder.mkdir()
    good = get_preset("ebay").encode(product_shot())
    (folder / "a.jpg").write_bytes(good)
    (folder / "manifest.csv").write_text("sku\n", encoding="utf-8")
    (folder / "SKU-2").mkdir()
    (folder / "SKU-2" / "b.JPEG").write_bytes(good)
    return folder


def test_all_pass_exits_0_with_a_line_per_image(export: Path, capsys) -> None:
    assert main(["check", str(export), "--preset", "ebay"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "PASS  SKU-2/b.JPEG  size ok · format ok · colour_profile ok · no_added_borders ok",
        "PASS  a.jpg  size ok · format ok · colour_profile ok · no_added_borders ok",
        "2 of 2 images pass ebay",
    ]


def test_any_failure_exits_1_naming_the_rule_and_measure(export: Path, capsys) -> None:
    (export / "c.jpg").write_bytes(png_bytes(product_shot()))  # a small PNG named .jpg
    assert main(["check", str(export), "--preset", "ebay"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[2] == ("FAIL  c.jpg  size FAIL (400×400 px, needs 1600×1600) · format FAIL "
                        "(file is PNG (named .jpg), needs JPEG) · colour_profile FAIL (no colour "
                        "profile embedded, needs sRGB) · no_added_borders ok")
    assert lines[-1] == "2 of 3 images pass ebay; 1 fail"


def test_json_lines(export: Path, capsys) -> None:
    (export / "d.webp").write_bytes(b"not an image at all")
    assert main(["check", str(export), "--preset", "ebay", "--json"]) == 1
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [Path(row["path"]).name for row in rows] == ["b.JPEG", "a.jpg", "d.webp"]
    assert all(set(row) == {"path", "preset", "passed", "rules"} for row in rows)
    assert all(row["preset"] == "ebay" for row in rows)
    assert [row["passed"] for row in rows] == [True, True, False]
    assert [rule["rule"] for rule in rows[0]["rules"]] == [
        "size", "format", "colour_profile", "no_added_borders"]
    assert rows[0]["rules"][0] == {"rule": "size", "passed": True, "detail": "1600×1600 px"}
    assert rows[2]["rules"] == [{"rule": "readable", "passed": False,
                                 "detail": "cannot read the image: not an image file Pillow "
                                           "can read"}]


def test_amazon_main_rules_through_the_command(tmp_path: Path, capsys) -> None:
    small = Image.new("RGB", (400, 400), "white")
    small.paste((30, 60, 200), (150, 150, 250, 250))
    (tmp_path / "small.jpg").write_bytes(get_preset("amazon-main").encode(small))
    assert main(["check", str(tmp_path), "--preset", "amazon-main", "--json"]) == 1
    [row] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    rules = {rule["rule"]: rule for rule in row["rules"]}
    assert rules["pure_white_border"]["passed"]
    assert not rules["min_fill"]["passed"]
    # 500 px scaled up, plus a few px of resampling and JPEG fringe on each side.
    assert rules["min_fill"]["detail"].startswith("product fills 25% of the frame (5")
    assert rules["min_fill"]["detail"].endswith("px box), needs 85%")


@pytest.mark.parametrize(("args", "message"), [
    (["check", "{missing}", "--preset", "ebay"], "is not a folder"),
    (["check", "{file}", "--preset", "ebay"], "is not a folder"),
    (["check", "{empty}", "--preset", "ebay"], "No images"),
    (["check", "{empty}", "--preset", "nope"], "No output preset 'nope'"),
])
def test_bad_input_exits_2(tmp_path: Path, capsys, args: list[str], message: str) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "file.jpg").write_bytes(b"x")
    places = {"missing": tmp_path / "missing", "file": tmp_path / "file.jpg",
              "empty": tmp_path / "empty"}
    assert main([arg.format(**places) for arg in args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert message in captured.err


def test_the_preset_is_required(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["check", str(tmp_path)])
    assert exit_.value.code == 2
    assert "--preset" in capsys.readouterr().err


def test_the_installed_command_exits_with_the_code(export: Path, studio_home: Path) -> None:
    (export / "c.jpg").write_bytes(png_bytes(product_shot()))
    run = subprocess.run([sys.executable, "-m", "studio.cli.main", "check", str(export),
                          "--preset", "ebay", "--json"], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 1, run.stderr
    assert [json.loads(line)["passed"] for line in run.stdout.splitlines()] == [True, True, False]
