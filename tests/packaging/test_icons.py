"""The committed icon set, the desktop entry and the spec's flavour rules."""

from __future__ import annotations

import configparser
import sys
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
ICONS = ROOT / "resources" / "icons"
sys.path.insert(0, str(ROOT / "packaging"))

import spec_common  # noqa: E402


@pytest.mark.parametrize("size", [16, 24, 32, 48, 64, 128, 256, 512, 1024])
def test_a_png_at_every_size(size: int) -> None:
    with Image.open(ICONS / f"studio-{size}.png") as image:
        assert image.size == (size, size)
        assert image.mode == "RGBA"
        assert image.getpixel((0, 0))[3] == 0  # transparent corners around the rounded tile


def test_the_ico_holds_the_windows_sizes() -> None:
    with Image.open(ICONS / "studio.ico") as ico:
        assert ico.format == "ICO"
        assert {(16, 16), (32, 32), (48, 48), (256, 256)} <= set(ico.info["sizes"])


def test_the_icns_holds_the_macos_sizes() -> None:
    with Image.open(ICONS / "studio.icns") as icns:
        assert icns.format == "ICNS"
        assert {(16, 16), (32, 32), (128, 128), (256, 256), (512, 512)} <= {
            size[:2] for size in icns.info["sizes"]}
        assert icns.size == (1024, 1024)


def test_make_icons_reproduces_the_committed_sizes(tmp_path: Path) -> None:
    import make_icons

    written = make_icons.write_icons(tmp_path)
    assert sorted(p.name for p in written) == sorted(p.name for p in ICONS.iterdir())


def test_the_desktop_entry_opens_pngs_with_the_icon() -> None:
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # type: ignore[assignment,method-assign]
    entry.read(ROOT / "packaging" / "linux" / "studio.desktop")
    section = entry["Desktop Entry"]
    assert section["Type"] == "Application" and section["Icon"] == "studio"
    assert section["Exec"] == "studio %F"
    assert "image/png" in section["MimeType"].split(";")


def test_the_cloud_flavour_leaves_out_the_local_stack() -> None:
    cloud, full = spec_common.excludes_for("cloud"), spec_common.excludes_for("full")
    for name in ("torch", "diffusers", "transformers", "accelerate", "safetensors"):
        assert name in cloud and name not in full
    assert "pytest" in cloud and "pytest" in full
    assert "torch" in spec_common.metadata_for("full")
    assert "torch" not in spec_common.metadata_for("cloud")


def test_the_macos_plist_registers_pngs_without_taking_them_over() -> None:
    plist = spec_common.info_plist("1.2.3")
    assert plist["CFBundleShortVersionString"] == "1.2.3"
    (document,) = plist["CFBundleDocumentTypes"]
    assert document["LSItemContentTypes"] == ["public.png"]
    assert document["LSHandlerRank"] == "Alternate"


def test_the_windows_version_file(tmp_path: Path) -> None:
    text = spec_common.windows_version_file(tmp_path, "0.1.0").read_text()
    assert "filevers=(0, 1, 0, 0)" in text and "'ProductVersion', '0.1.0'" in text
