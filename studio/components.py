"""The third-party components in this build, with their versions and licences (for About)."""

from __future__ import annotations

import platform
from dataclasses import dataclass
from importlib import metadata

NOT_INCLUDED = "not included in this build"


@dataclass(frozen=True)
class Component:
    name: str
    version: str  # NOT_INCLUDED when the component is absent
    licence: str
    note: str = ""

    @property
    def included(self) -> bool:
        return self.version != NOT_INCLUDED


# (shown name, distribution names to try, licence, note). Distributions, not modules: a bundle
# carries their metadata (see packaging/spec_common.py), so the versions read the same there.
KNOWN: tuple[tuple[str, tuple[str, ...], str, str], ...] = (
    ("PySide6 (Qt for Python)", ("PySide6-Essentials", "PySide6"), "LGPL-3.0",
     "Qt and PySide6 ship as separate shared libraries that you may replace."),
    ("Shiboken6", ("shiboken6",), "LGPL-3.0", ""),
    ("Pillow", ("pillow",), "MIT-CMU (HPND)", ""),
    ("boto3", ("boto3",), "Apache-2.0", ""),
    ("botocore", ("botocore",), "Apache-2.0", ""),
    ("sqlite-utils", ("sqlite-utils",), "Apache-2.0", ""),
    ("platformdirs", ("platformdirs",), "MIT", ""),
    ("NumPy", ("numpy",), "BSD-3-Clause", ""),
    ("OpenCV", ("opencv-python-headless", "opencv-python"), "Apache-2.0",
     "automatic product masks"),
    ("PyTorch", ("torch",), "BSD-3-Clause", "needed for local generation"),
    ("diffusers", ("diffusers",), "Apache-2.0", "needed for local generation"),
    ("transformers", ("transformers",), "Apache-2.0", "needed for local generation"),
    ("accelerate", ("accelerate",), "Apache-2.0", "needed for local generation"),
    ("safetensors", ("safetensors",), "Apache-2.0", "needed for local generation"),
    ("PEFT", ("peft",), "Apache-2.0", "LoRAs in local generation"),
)


def distribution_version(names: tuple[str, ...]) -> str | None:
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def qt_version() -> str | None:
    try:
        from PySide6.QtCore import qVersion
    except ImportError:
        return None
    return qVersion()


def bundled_components() -> list[Component]:
    components = [Component("Python", platform.python_version(), "PSF-2.0")]
    qt = qt_version()
    components.append(Component("Qt", qt or NOT_INCLUDED, "LGPL-3.0"))
    for name, distributions, licence, note in KNOWN:
        version = distribution_version(distributions)
        components.append(Component(name, version or NOT_INCLUDED, licence, note))
    return components
