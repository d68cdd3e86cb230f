"""`studio --smoke-test` from the installed command and from a freshly built bundle."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _studio_command() -> list[str]:
    script = Path(sys.executable).parent / ("studio.exe" if os.name == "nt" else "studio")
    return [str(script)] if script.exists() else [sys.executable, "-m", "studio.cli.main"]


def _clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("STUDIO_RESOURCES",)}
    env.update(STUDIO_HOME=str(home), QT_QPA_PLATFORM="offscreen", HF_HUB_OFFLINE="1")
    return env


def test_the_installed_studio_passes_its_smoke_test(tmp_path: Path) -> None:
    home = tmp_path / "home"
    done = subprocess.run([*_studio_command(), "--smoke-test"], capture_output=True, text=True,
                          env=_clean_env(home), timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "smoke test passed" in done.stdout
    for check in ("resources", "backends", "main window"):
        assert f"ok    {check}" in done.stdout
    assert "bedrock" in done.stdout and "sagemaker" in done.stdout and "local" in done.stdout
    assert not any(home.rglob("*.sqlite*")), "the smoke test must not write into user data"


def test_a_failing_check_exits_non_zero_with_the_reason(tmp_path: Path) -> None:
    env = _clean_env(tmp_path / "home")
    env["STUDIO_RESOURCES"] = str(tmp_path / "no-resources")
    done = subprocess.run([*_studio_command(), "--smoke-test"], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 1
    assert "FAIL  resources" in done.stdout
    assert "smoke test FAILED" in done.stdout


@pytest.mark.bundle
@pytest.mark.skipif(os.environ.get("STUDIO_BUILD_BUNDLE") != "1",
                    reason="builds the cloud bundle with PyInstaller (minutes); "
                           "set STUDIO_BUILD_BUNDLE=1 (.ci/run does, once)")
def test_the_cloud_bundle_builds_and_passes_its_smoke_test(tmp_path: Path) -> None:
    dist, work = tmp_path / "dist", tmp_path / "work"
    subprocess.run([sys.executable, str(ROOT / "packaging" / "build.py"), "--flavour", "cloud",
                    "--dist", str(dist), "--work", str(work)], check=True, cwd=ROOT,
                   timeout=1200)
    bundle = dist / ("Studio.app" if sys.platform == "darwin" else "Studio")
    if sys.platform == "win32":
        executable = bundle / "studio-cli.exe"
    elif sys.platform == "darwin":
        executable = bundle / "Contents" / "MacOS" / "Studio"
    else:
        executable = bundle / "studio"
    env = _clean_env(tmp_path / "home")
    env.pop("PYTHONPATH", None)
    # Run from elsewhere, so nothing can come from the checkout instead of the bundle.
    done = subprocess.run([str(executable), "--smoke-test"], capture_output=True, text=True,
                          env=env, timeout=180, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "(cloud build" in done.stdout
    assert "cloud edition of Studio" in done.stdout  # the local backend explains its absence
    assert "bedrock available" in done.stdout
    assert str(bundle) in done.stdout  # resources come from the bundle, not the checkout
    assert not any(bundle.rglob("torch")) and not any(bundle.rglob("diffusers"))
    if sys.platform.startswith("linux"):
        tarball = next(dist.glob("studio-cloud-*-linux-*.tar.gz"))
        with tarfile.open(tarball) as tar:
            names = set(tar.getnames())
        assert {"Studio/studio", "Studio/install.sh", "Studio/share/applications/studio.desktop",
                "Studio/share/icons/hicolor/256x256/apps/studio.png"} <= names
