"""The Linux extras build.py adds to the bundle: desktop entry, icons, install.sh, tarball."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux only")


def _build_module():
    # Loaded by path: a module named `build` could be PyPA's build package.
    spec = importlib.util.spec_from_file_location("studio_packaging_build",
                                                  ROOT / "packaging" / "build.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    bundle = tmp_path / "Studio"
    bundle.mkdir()
    (bundle / "studio").write_text("#!/bin/sh\n")
    _build_module().add_linux_desktop_files(bundle)
    return bundle


def test_install_sh_adds_the_menu_entry_and_icons(bundle: Path, tmp_path: Path) -> None:
    data = tmp_path / "xdg"
    env = {**os.environ, "XDG_DATA_HOME": str(data)}
    subprocess.run(["sh", str(bundle / "install.sh")], env=env, check=True,
                   capture_output=True)
    entry = (data / "applications" / "studio.desktop").read_text()
    assert f'Exec="{bundle}/studio" %F' in entry
    assert "MimeType=image/png;" in entry
    for size in (16, 48, 256, 512):
        assert (data / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "studio.png").is_file()
    subprocess.run(["sh", str(bundle / "install.sh"), "--uninstall"], env=env, check=True,
                   capture_output=True)
    assert not (data / "applications" / "studio.desktop").exists()


def test_the_tarball_is_byte_for_byte_reproducible(bundle: Path) -> None:
    build = _build_module()
    first = build.linux_tarball(bundle, "cloud").read_bytes()
    os.utime(bundle / "studio", (1, 1))  # a rebuild changes timestamps, not contents
    second = build.linux_tarball(bundle, "cloud").read_bytes()
    assert first == second
