"""The window's product dialog with a JPEG bottle loaded, steps at 1."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.product.photos import product_photo


def window_dialog_with_bottle(window: Any, folder: Path) -> tuple[Any, Path]:
    """(the dialog, the photo's path); the photo is loaded (asserted)."""
    photo, _ = product_photo((160, 128))
    path = folder / "bottle.jpg"
    photo.save(path, quality=92)
    window.params_panel.steps_spin.setValue(1)
    dialog = window.open_product_dialog()
    assert dialog.load_photo(path)
    return dialog, path
