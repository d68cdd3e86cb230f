"""What the window takes from files: a PNG's generation parameters (File menu or a drop) and
an init image."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QFileDialog, QMainWindow

from backends.errors import BackendError
from backends.types import load_image
from studio.library.png_metadata import request_from_png

if TYPE_CHECKING:
    from studio.ui.window.params_panel import ParamsPanel
    from studio.ui.window.prompt_panel import PromptPanel


class FileInputsWindow(QMainWindow):
    """A main window that restores parameters from a Studio or AUTOMATIC1111 PNG and takes
    an init image from a file. The window itself provides the panels and `show_message`."""

    prompt_panel: PromptPanel
    params_panel: ParamsPanel

    def show_message(self, text: str) -> None:
        raise NotImplementedError

    def restore_from_png(self, path: Path) -> bool:
        try:
            request = request_from_png(path)
        except BackendError as exc:
            self.show_message(str(exc))
            return False
        self.prompt_panel.set_prompt(request.prompt)
        self.prompt_panel.set_negative(request.negative_prompt)
        self.params_panel.apply_request(request.to_dict())
        self.show_message("")
        self.statusBar().showMessage(f"Restored the parameters of {path.name}", 8000)
        return True

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        if any(url.toLocalFile().lower().endswith(".png") for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        for url in event.mimeData().urls():
            if url.toLocalFile().lower().endswith(".png"):
                self.restore_from_png(Path(url.toLocalFile()))
                event.acceptProposedAction()
                return

    def _ask_png_to_restore(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Restore parameters from a PNG", "",
                                              "PNG images (*.png)")
        if path:
            self.restore_from_png(Path(path))

    def _ask_init_image(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose an init image", "",
                                              "Images (*.png *.jpg *.jpeg *.webp)")
        if path:
            try:
                self.params_panel.set_init_image(load_image(path))
            except BackendError as exc:
                self.show_message(str(exc))
