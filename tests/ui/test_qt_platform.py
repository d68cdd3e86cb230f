"""Before Qt opens a window: missing system libraries are named, with the packages to
install, instead of Qt aborting the process."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from studio.ui.qt_platform import (
    DEBIAN_PACKAGES,
    debian_packages,
    missing_from_ldd,
    missing_from_load_error,
    missing_libraries_message,
    missing_xcb_libraries,
    uses_xcb,
    xcb_plugin,
)

# What `ldd libqxcb.so` printed on a Debian 12 machine without two of the xcb utilities.
LDD_OUTPUT = """\
\tlinux-vdso.so.1 (0x00007ffd)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f1)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\tlibxcb.so.1 => /lib/x86_64-linux-gnu/libxcb.so.1 (0x00007f2)
\tlibxcb-icccm.so.4 => not found
"""


def test_ldd_output_gives_each_missing_library_once_in_order() -> None:
    assert missing_from_ldd(LDD_OUTPUT) == ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"]
    assert missing_from_ldd("\tlibc.so.6 => /lib/libc.so.6 (0x1)\n") == []


def test_a_loader_error_names_its_library() -> None:
    error = ("libGL.so.1: cannot open shared object file: No such file or directory")
    assert missing_from_load_error(error) == ["libGL.so.1"]
    assert missing_from_load_error("No module named 'PySide6'") == []


def test_missing_libraries_map_to_the_debian_packages_that_ship_them() -> None:
    packages, unknown = debian_packages(
        ["libxcb-icccm.so.4", "libxcb-keysyms.so.1", "libglib-2.0.so.0",
         "libgthread-2.0.so.0", "libfoo.so.3"])
    assert packages == ["libxcb-icccm4", "libxcb-keysyms1", "libglib2.0-0"]
    assert unknown == ["libfoo.so.3"]


def test_the_message_names_the_libraries_and_the_command_to_install_them() -> None:
    message = missing_libraries_message(["libxcb-icccm.so.4", "libxcb-keysyms.so.1"])
    assert "libxcb-icccm.so.4, libxcb-keysyms.so.1" in message
    assert "sudo apt-get install libxcb-icccm4 libxcb-keysyms1" in message
    assert "apt-file" not in message
    unknown = missing_libraries_message(["libfoo.so.3"])
    assert "apt-get install" not in unknown and "apt-file search libfoo.so.3" in unknown


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Qt's xcb plugin is Linux's")
def test_every_library_the_installed_xcb_plugin_loads_has_a_package() -> None:
    """The table covers what this PySide6's plugin really needs (beyond the C runtime and
    what every Debian has), so a new Qt that needs more fails here, not on a user's machine."""
    plugin = xcb_plugin()
    if plugin is None or shutil.which("ldd") is None:
        pytest.skip("no PySide6 xcb plugin or no ldd here")
    listed = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True,
                            check=True).stdout
    needed = {line.split()[0] for line in listed.splitlines() if "=>" in line}
    xlibs = {name for name in needed if name.startswith(("libxcb", "libX", "libxkb", "libGL",
                                                         "libEGL", "libfontconfig"))}
    assert xlibs and xlibs <= set(DEBIAN_PACKAGES)


@pytest.mark.parametrize(("environ", "platform", "expected"), [
    ({}, "linux", True),
    ({"QT_QPA_PLATFORM": "xcb"}, "linux", True),
    ({"QT_QPA_PLATFORM": "offscreen"}, "linux", False),
    ({"QT_QPA_PLATFORM": "wayland;xcb"}, "linux", False),
    ({"WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland"}, "linux", False),
    ({}, "darwin", False),
    ({}, "win32", False),
])
def test_only_the_xcb_platform_is_checked(environ, platform, expected) -> None:
    assert uses_xcb(environ, platform) is expected


def _plugin_needing(tmp_path: Path, soname: str) -> Path:
    """A shared library that needs `soname`, which then is deleted (gcc builds both)."""
    if shutil.which("gcc") is None:
        pytest.skip("no C compiler to build a library with a missing dependency")
    (tmp_path / "dep.c").write_text("int dep(void) { return 1; }\n")
    (tmp_path / "plugin.c").write_text("int dep(void);\nint plugin(void) { return dep(); }\n")
    dep = tmp_path / soname
    subprocess.run(["gcc", "-shared", "-fPIC", f"-Wl,-soname,{soname}", "-o", str(dep),
                    str(tmp_path / "dep.c")], check=True)
    plugin = tmp_path / "libqfake.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(plugin), str(tmp_path / "plugin.c"),
                    str(dep)], check=True)
    dep.unlink()
    return plugin


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ELF libraries")
def test_a_plugin_with_a_missing_library_is_found_out(tmp_path) -> None:
    plugin = _plugin_needing(tmp_path, "libxcb-studio-test.so.7")
    assert missing_xcb_libraries(plugin) == ["libxcb-studio-test.so.7"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ELF libraries")
def test_the_app_says_what_to_install_instead_of_aborting(tmp_path) -> None:
    """`studio` with an xcb plugin that cannot load: exit 1 and a message, no Qt abort."""
    plugin = _plugin_needing(tmp_path, "libxcb-studio-test.so.7")
    script = ("import sys\nfrom pathlib import Path\nimport studio.ui.qt_platform as q\n"
              f"q.xcb_plugin = lambda: Path({str(plugin)!r})\n"
              "from studio.ui.app import run\nsys.exit(run([]))\n")
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb", "STUDIO_HOME": str(tmp_path / "home")}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 1
    assert "Studio cannot open its window" in done.stderr
    assert "libxcb-studio-test.so.7" in done.stderr and "apt-file search" in done.stderr
    assert "libxcb-studio-test.so.7" in (tmp_path / "home" / "logs" / "studio.log").read_text()
