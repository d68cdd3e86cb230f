"""Help → About lists the version and the licences of the bundled components."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication

from studio import __version__
from studio.components import NOT_INCLUDED, Component, bundled_components
from studio.ui.about import AboutDialog


def test_the_components_carry_versions_and_licences() -> None:
    components = {c.name: c for c in bundled_components()}
    assert components["Python"].licence == "PSF-2.0"
    assert components["PySide6 (Qt for Python)"].licence == "LGPL-3.0"
    assert components["PySide6 (Qt for Python)"].included
    assert components["Qt"].version.startswith("6.")
    assert components["boto3"].licence == components["sqlite-utils"].licence == "Apache-2.0"
    assert components["PyTorch"].licence == "BSD-3-Clause"
    for name in ("diffusers", "transformers", "accelerate", "safetensors"):
        assert components[name].licence == "Apache-2.0"


def test_the_dialog_lists_components_and_marks_missing_ones(qtbot) -> None:
    components = [Component("Pillow", "11.0", "MIT-CMU (HPND)"),
                  Component("PyTorch", NOT_INCLUDED, "BSD-3-Clause")]
    dialog = AboutDialog(components=components)
    qtbot.addWidget(dialog)
    assert f"Studio {__version__}" in dialog.title.text()
    assert dialog.rows() == [("Pillow", "11.0", "MIT-CMU (HPND)"),
                             ("PyTorch", "not included in this build", "BSD-3-Clause")]


def test_help_about_opens_it_from_the_main_window(qtbot, studio_home, monkeypatch) -> None:
    from studio.context import StudioContext
    from studio.ui.window.main_window import MainWindow

    shown: list[AboutDialog] = []
    monkeypatch.setattr(AboutDialog, "exec", lambda self: shown.append(self) or 0)
    context = StudioContext.create()
    try:
        window = MainWindow(context)
        qtbot.addWidget(window)
        help_menu = next(a.menu() for a in window.menuBar().actions()
                         if a.text().replace("&", "") == "Help")
        (about,) = [a for a in help_menu.actions() if "About" in a.text()]
        about.trigger()
        assert len(shown) == 1 and shown[0].table.rowCount() == len(bundled_components())
    finally:
        context.close()
    assert QApplication.instance() is not None
