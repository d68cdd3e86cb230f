"""Before Qt opens a window on Linux: are the system libraries its platform plugin needs
there? Qt aborts the whole process when its "xcb" plugin cannot load (and its own message
often blames the wrong library), so Studio looks first and names the packages to install.

Pure parts (which sonames are missing, which Debian/Ubuntu packages provide them, the
message) are separate from the look itself (`ldd` on the plugin, or loading it), so they
can be tested without breaking a machine."""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

# The libraries PySide6 6.11's xcb plugin, its libQt6XcbQpa and QtGui/QtWidgets/QtDBus load
# (from `ldd`), and the Debian 12 / Ubuntu package that ships each. apt resolves the rest of
# their dependencies. On Debian 13 and Ubuntu 24.04 a few packages gained a "t64" suffix
# (libglib2.0-0t64); apt accepts the old name and installs the new one.
DEBIAN_PACKAGES: Mapping[str, str] = {
    "libGL.so.1": "libgl1",
    "libEGL.so.1": "libegl1",
    "libGLX.so.0": "libglx0",
    "libGLdispatch.so.0": "libglvnd0",
    "libOpenGL.so.0": "libopengl0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libdbus-1.so.3": "libdbus-1-3",
    "libpng16.so.16": "libpng16-16",
    "libX11.so.6": "libx11-6",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libXau.so.6": "libxau6",
    "libXdmcp.so.6": "libxdmcp6",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxcb.so.1": "libxcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
}

_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found", re.MULTILINE)
_CANNOT_OPEN = re.compile(r"(\S+\.so(?:\.\d+)*): cannot open shared object file")


def missing_from_ldd(output: str) -> list[str]:
    """The sonames `ldd` reports as "not found", in its order, each once."""
    return list(dict.fromkeys(_NOT_FOUND.findall(output)))


def missing_from_load_error(message: str) -> list[str]:
    """The soname in a dynamic loader error ("libGL.so.1: cannot open shared object
    file…", as ImportError or OSError words it); [] when it names none."""
    return list(dict.fromkeys(_CANNOT_OPEN.findall(message)))


def debian_packages(sonames: list[str]) -> tuple[list[str], list[str]]:
    """(the Debian/Ubuntu packages that provide `sonames`, each once; the sonames we know no
    package for)."""
    packages = list(dict.fromkeys(DEBIAN_PACKAGES[name] for name in sonames
                                  if name in DEBIAN_PACKAGES))
    unknown = [name for name in sonames if name not in DEBIAN_PACKAGES]
    return packages, unknown


def missing_libraries_message(sonames: list[str], what: str = "Qt's xcb platform plugin") -> str:
    """What to tell a user whose system lacks `sonames`: which, and the command that
    installs them on Debian or Ubuntu."""
    packages, unknown = debian_packages(sonames)
    lines = [f"Studio cannot open its window: {what} needs system libraries that are not "
             f"installed: {', '.join(sonames)}."]
    if packages:
        lines.append("On Debian or Ubuntu install them with:\n"
                     f"    sudo apt-get install {' '.join(packages)}")
    if unknown:
        lines.append(f"Find the package that provides {', '.join(unknown)} with "
                     f"`apt-file search {unknown[0]}` (or your system's package search).")
    lines.append("On other systems install the packages that provide those files.")
    return "\n".join(lines)


def xcb_plugin() -> Path | None:
    """PySide6's xcb platform plugin, found without importing Qt (None: not there)."""
    import importlib.util

    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        plugin = Path(root) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
        if plugin.is_file():
            return plugin
    return None


def uses_xcb(environ: Mapping[str, str], platform: str = sys.platform) -> bool:
    """Whether Qt will pick its xcb plugin: on Linux, when told to, or by default under X11.
    (Under Wayland Qt uses its own plugin; offscreen, for tests and smoke tests, needs none.)"""
    if not platform.startswith("linux"):
        return False
    chosen = environ.get("QT_QPA_PLATFORM", "")
    if chosen:
        return chosen.split(":")[0].split(";")[0] == "xcb"
    if environ.get("WAYLAND_DISPLAY") and environ.get("XDG_SESSION_TYPE") == "wayland":
        return False
    return True


def missing_xcb_libraries(plugin: Path) -> list[str]:
    """The sonames `plugin` needs and the system cannot find: all of them from `ldd`, or
    the first one the loader trips on where there is no `ldd`."""
    ldd = shutil.which("ldd")
    if ldd is not None:
        done = subprocess.run([ldd, str(plugin)], capture_output=True, text=True, check=False,
                              timeout=30)
        return missing_from_ldd(done.stdout)
    try:
        ctypes.CDLL(str(plugin))
    except OSError as exc:
        return missing_from_load_error(str(exc))
    return []


def platform_problem(environ: Mapping[str, str] | None = None) -> str:
    """'' when Qt can open a window here as far as we can tell, else what to install."""
    environ = os.environ if environ is None else environ
    if not uses_xcb(environ):
        return ""
    plugin = xcb_plugin()
    if plugin is None:
        return ""  # not a PySide6 wheel layout we know: let Qt speak for itself
    missing = missing_xcb_libraries(plugin)
    return missing_libraries_message(missing) if missing else ""
