"""Builds Studio as a double-click desktop app.

    .venv/bin/python packaging/build.py --flavour cloud     # or --flavour full

The bundle lands in packaging/dist/<flavour>/Studio/ (Studio.app on macOS). On Linux this also
writes packaging/dist/<flavour>/studio-<flavour>-<version>-linux-<arch>.tar.gz with a .desktop
entry, icons and install.sh; on Windows it runs Inno Setup (iscc) when it is on PATH.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from spec_common import APP_NAME, ICONS, studio_version  # noqa: E402

ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)  # hicolor theme folders on Linux
MUST_BE_ABSENT = ("torch", "diffusers", "transformers", "accelerate", "safetensors",
                  "huggingface_hub")  # from the cloud bundle
REPRODUCIBLE_MTIME = 1_700_000_000  # fixed archive timestamps unless SOURCE_DATE_EPOCH says


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flavour", choices=["cloud", "full"], default="cloud",
                        help="cloud: SageMaker and Bedrock only, no torch (small); "
                             "full: with local generation")
    parser.add_argument("--dist", type=Path, help="output folder (default packaging/dist/FLAVOUR)")
    parser.add_argument("--work", type=Path,
                        help="PyInstaller's work folder (default packaging/build/FLAVOUR)")
    parser.add_argument("--no-archive", action="store_true",
                        help="skip the tarball / installer step")
    return parser.parse_args(argv)


def check_tools(flavour: str) -> None:
    if importlib.util.find_spec("PyInstaller") is None:
        raise SystemExit("PyInstaller is not installed in this environment: "
                         f"{sys.executable} -m pip install -e '.[dev]'")
    if flavour == "full":
        missing = [name for name in ("torch", "diffusers", "transformers", "accelerate",
                                     "safetensors") if importlib.util.find_spec(name) is None]
        if missing:
            raise SystemExit(f"The full flavour bundles the local backend, but {missing} are "
                             "not installed: pip install -e '.[local,ui,dev]'")


def run_pyinstaller(flavour: str, dist: Path, work: Path) -> None:
    env = {**os.environ, "PYTHONHASHSEED": "0"}  # stable module order: reproducible builds
    env.setdefault("SOURCE_DATE_EPOCH", str(REPRODUCIBLE_MTIME))
    subprocess.run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean",
                    "--log-level", "WARN", "--distpath", str(dist), "--workpath", str(work),
                    str(HERE / f"studio-{flavour}.spec")], check=True, cwd=ROOT, env=env)


def add_linux_desktop_files(bundle: Path) -> None:
    applications = bundle / "share" / "applications"
    applications.mkdir(parents=True, exist_ok=True)
    shutil.copy2(HERE / "linux" / "studio.desktop", applications / "studio.desktop")
    for size in ICON_SIZES:
        folder = bundle / "share" / "icons" / "hicolor" / f"{size}x{size}" / "apps"
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ICONS / f"studio-{size}.png", folder / "studio.png")
    shutil.copy2(HERE / "linux" / "install.sh", bundle / "install.sh")
    shutil.copy2(ICONS / "studio-256.png", bundle / "studio.png")


def linux_tarball(bundle: Path, flavour: str) -> Path:
    """A .tar.gz whose bytes depend only on the bundle's contents (sorted, fixed owners and
    timestamps), so two builds of one commit can be compared."""
    mtime = int(os.environ.get("SOURCE_DATE_EPOCH", REPRODUCIBLE_MTIME))
    arch = platform.machine() or "unknown"
    target = bundle.parent / f"studio-{flavour}-{studio_version()}-linux-{arch}.tar.gz"

    def normalise(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        info.mtime = mtime
        return info

    with open(target, "wb") as raw, \
            gzip.GzipFile(fileobj=raw, mode="wb", mtime=mtime, filename="") as zipped, \
            tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as tar:
        paths = sorted(bundle.rglob("*"))
        tar.add(bundle, arcname=bundle.name, recursive=False, filter=normalise)
        for path in paths:
            tar.add(path, arcname=str(Path(bundle.name) / path.relative_to(bundle)),
                    recursive=False, filter=normalise)
    return target


def windows_installer(flavour: str, dist: Path) -> Path | None:
    iscc = shutil.which("iscc") or shutil.which("ISCC")
    script = HERE / "windows" / "studio.iss"
    if iscc is None:
        print(f"Inno Setup not found: install it, then run\n  iscc /DFlavour={flavour} "
              f"/DVersion={studio_version()} /DDist={dist} {script}")
        return None
    subprocess.run([iscc, f"/DFlavour={flavour}", f"/DVersion={studio_version()}",
                    f"/DDist={dist}", str(script)], check=True)
    return dist / f"studio-{flavour}-{studio_version()}-setup.exe"


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    dist = (args.dist or HERE / "dist" / args.flavour).resolve()
    work = (args.work or HERE / "build" / args.flavour).resolve()
    check_tools(args.flavour)
    started = time.perf_counter()
    run_pyinstaller(args.flavour, dist, work)
    bundle = dist / (f"{APP_NAME}.app" if sys.platform == "darwin" else APP_NAME)
    if args.flavour == "cloud":
        internal = bundle / "_internal" if sys.platform != "darwin" else bundle
        leaked = [name for name in MUST_BE_ABSENT if any(internal.rglob(name))]
        if leaked:
            raise SystemExit(f"the cloud bundle must not contain {leaked}")
    extra = ""
    if not args.no_archive:
        if sys.platform.startswith("linux"):
            add_linux_desktop_files(bundle)
            extra = f"\narchive: {linux_tarball(bundle, args.flavour)}"
        elif sys.platform == "win32":
            installer = windows_installer(args.flavour, dist)
            extra = f"\ninstaller: {installer}" if installer else ""
        elif sys.platform == "darwin":
            extra = "\nsign and notarise it before sharing: see packaging/README.md"
    seconds = time.perf_counter() - started
    print(f"built the {args.flavour} bundle in {seconds:.0f} s: {bundle} "
          f"({folder_size(bundle) / 2**20:.0f} MiB){extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
