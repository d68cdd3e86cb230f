"""What both PyInstaller specs share. studio-cloud.spec and studio-full.spec only name their
flavour and call `build()` with the spec's globals (Analysis, PYZ, EXE, COLLECT, BUNDLE).

The same spec builds on Linux (a folder with a `studio` executable), Windows (`Studio.exe`,
windowed, with icon and version info, plus `studio-cli.exe` for the terminal) and macOS
(`Studio.app` with its .icns and Info.plist).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESOURCES = ROOT / "resources"
ICONS = RESOURCES / "icons"
APP_NAME = "Studio"
BUNDLE_ID = "app.studio.Studio"  # macOS bundle id; change to your organisation's reverse DNS
BUILD_FILE = "studio_build.json"  # read by studio.build_info

# The local backend's stack. The cloud flavour leaves all of it out: importing it is lazy
# (backends.local checks with find_spec), so the app reports it missing instead of failing.
LOCAL_STACK = (
    "torch", "torchvision", "torchaudio", "triton", "diffusers", "transformers", "accelerate",
    "safetensors", "huggingface_hub", "tokenizers", "sympy", "networkx", "scipy", "regex",
    "jinja2", "fsspec", "filelock", "mpmath",
)
# Never wanted at run time: test and build tools that happen to be in the virtualenv.
# cryptography comes with moto; botocore and urllib3 only use it when asked to (opt-in).
DEV_ONLY = (
    "tkinter", "_tkinter", "pytest", "_pytest", "pytestqt", "moto", "IPython", "matplotlib",
    "PyInstaller", "ruff", "pip", "cryptography", "OpenSSL", "joserfc",
)
# Distributions whose metadata the About dialog reads (importlib.metadata needs the
# .dist-info in the bundle) or whose code checks its own version at import.
CLOUD_METADATA = ("PySide6-Essentials", "shiboken6", "pillow", "boto3", "botocore",
                  "sqlite-utils", "platformdirs", "numpy", "opencv-python-headless")
LOCAL_METADATA = ("torch", "diffusers", "transformers", "accelerate", "safetensors",
                  "huggingface-hub", "tokenizers", "tqdm", "regex", "requests",
                  "packaging", "filelock", "pyyaml")


def studio_version() -> str:
    text = (ROOT / "studio" / "__init__.py").read_text("utf-8")
    return text.split('__version__ = "', 1)[1].split('"', 1)[0]


def version_tuple(version: str) -> tuple[int, int, int, int]:
    numbers = [int("".join(ch for ch in part if ch.isdigit()) or 0)
               for part in version.split(".")[:4]]
    return tuple((numbers + [0, 0, 0, 0])[:4])  # type: ignore[return-value]


def windows_version_file(workpath: Path, version: str) -> Path:
    """The VERSIONINFO resource Explorer shows under Properties → Details."""
    numbers = version_tuple(version)
    text = f"""VSVersionInfo(
  ffi=FixedFileInfo(filevers={numbers}, prodvers={numbers}, mask=0x3f, flags=0x0, OS=0x40004,
                    fileType=0x1, subtype=0x0, date=(0, 0)),
  kids=[
    StringFileInfo([StringTable('040904B0', [
      StringStruct('CompanyName', 'Studio'),
      StringStruct('FileDescription', 'Studio image generation'),
      StringStruct('FileVersion', '{version}'),
      StringStruct('InternalName', 'Studio'),
      StringStruct('LegalCopyright', 'Studio contributors'),
      StringStruct('OriginalFilename', 'Studio.exe'),
      StringStruct('ProductName', 'Studio'),
      StringStruct('ProductVersion', '{version}')])]),
    VarFileInfo([VarStruct('Translation', [1033, 1200])])
  ]
)
"""
    path = workpath / "version_info.txt"
    path.write_text(text, "utf-8")
    return path


def info_plist(version: str) -> dict[str, Any]:
    """macOS Info.plist entries: PNGs open with Studio ("Open With"; it does not take over
    PNGs as the default app), and Qt's QFileOpenEvent delivers them to the window."""
    return {
        "CFBundleName": APP_NAME,
        "CFBundleDisplayName": APP_NAME,
        "CFBundleShortVersionString": version,
        "CFBundleVersion": version,
        "NSHighResolutionCapable": True,
        "NSRequiresAquaSystemAppearance": False,  # follow the system's dark mode
        "LSMinimumSystemVersion": "11.0",
        "LSApplicationCategoryType": "public.app-category.graphics-design",
        "CFBundleDocumentTypes": [{
            "CFBundleTypeName": "PNG image",
            "CFBundleTypeRole": "Viewer",
            "LSHandlerRank": "Alternate",
            "LSItemContentTypes": ["public.png"],
            "CFBundleTypeExtensions": ["png"],
        }],
    }


def excludes_for(flavour: str) -> list[str]:
    return [*DEV_ONLY, *(LOCAL_STACK if flavour == "cloud" else ())]


def metadata_for(flavour: str) -> list[str]:
    return [*CLOUD_METADATA, *(LOCAL_METADATA if flavour == "full" else ())]


def build(flavour: str, spec: dict[str, Any]) -> None:
    """Run inside a .spec file: `build("cloud", globals())`."""
    from PyInstaller.utils.hooks import collect_data_files, collect_submodules, copy_metadata

    if flavour not in ("cloud", "full"):
        raise SystemExit(f"unknown flavour {flavour!r}: use cloud or full")
    version = studio_version()
    workpath = Path(spec["workpath"])
    workpath.mkdir(parents=True, exist_ok=True)
    build_file = workpath / BUILD_FILE
    build_file.write_text(json.dumps({"flavour": flavour, "version": version}), "utf-8")

    excludes = excludes_for(flavour)

    def wanted(module: str) -> bool:
        return not any(module == name or module.startswith(name + ".") for name in excludes)

    # Every module of studio and backends, so modules added later (and the lazily imported
    # ones, which the import graph cannot see) are in the bundle without editing this file.
    hiddenimports = [m for m in collect_submodules("studio") + collect_submodules("backends")
                     if wanted(m)]
    if flavour == "full":
        hiddenimports += collect_submodules("diffusers.pipelines.stable_diffusion")
        hiddenimports += collect_submodules("diffusers.pipelines.stable_diffusion_xl")
        hiddenimports += collect_submodules("diffusers.schedulers")
    datas = [(str(RESOURCES), "resources"), (str(build_file), ".")]
    datas += collect_data_files("studio") + collect_data_files("backends")
    for distribution in metadata_for(flavour):
        try:
            datas += copy_metadata(distribution)
        except Exception:  # noqa: BLE001 - e.g. PySide6 instead of PySide6-Essentials
            print(f"studio spec: no metadata for {distribution}; About will omit it")
    if flavour == "full":
        datas += collect_data_files("diffusers") + collect_data_files("transformers")

    a = spec["Analysis"](
        [str(ROOT / "packaging" / "studio_main.py")],
        pathex=[str(ROOT)],
        datas=datas,
        hiddenimports=hiddenimports,
        excludes=excludes,
        noarchive=False,
        optimize=0,  # diffusers and transformers read docstrings at import
    )
    pyz = spec["PYZ"](a.pure)
    icon_ico, icon_icns = str(ICONS / "studio.ico"), str(ICONS / "studio.icns")
    common = {"debug": False, "bootloader_ignore_signals": False, "strip": False, "upx": False}
    if sys.platform == "darwin":
        exe = spec["EXE"](pyz, a.scripts, [], exclude_binaries=True, name=APP_NAME,
                          console=False, argv_emulation=False, icon=icon_icns,
                          codesign_identity=os.environ.get("STUDIO_CODESIGN_IDENTITY") or None,
                          entitlements_file=str(ROOT / "packaging" / "macos" /
                                                "entitlements.plist"), **common)
        coll = spec["COLLECT"](exe, a.binaries, a.datas, name=APP_NAME, strip=False, upx=False)
        spec["BUNDLE"](coll, name=f"{APP_NAME}.app", icon=icon_icns, version=version,
                       bundle_identifier=BUNDLE_ID, info_plist=info_plist(version))
    elif sys.platform == "win32":
        version_file = str(windows_version_file(workpath, version))
        gui = spec["EXE"](pyz, a.scripts, [], exclude_binaries=True, name=APP_NAME,
                          console=False, icon=icon_ico, version=version_file, **common)
        # A windowed .exe has no stdout: the terminal (and `--smoke-test` in CI) uses this one.
        cli = spec["EXE"](pyz, a.scripts, [], exclude_binaries=True, name="studio-cli",
                          console=True, icon=icon_ico, version=version_file, **common)
        spec["COLLECT"](gui, cli, a.binaries, a.datas, name=APP_NAME, strip=False, upx=False)
    else:
        exe = spec["EXE"](pyz, a.scripts, [], exclude_binaries=True, name="studio",
                          console=True, **common)
        spec["COLLECT"](exe, a.binaries, a.datas, name=APP_NAME, strip=False, upx=False)
