"""What the window takes from files: an image's generation parameters (File menu, a drop, the
OS opening a file) and an init image (File menu, or a dropped image that carries no settings)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QFileDialog, QMainWindow

from backends.errors import BackendError
from backends.types import load_image
from studio.library.foreign_png import NoGenerationSettings, read_generation_settings
from studio.ui.window.image_input import IMAGE_FILES, dropped_images

if TYPE_CHECKING:
    from studio.ui.window.params_panel import ParamsPanel
    from studio.ui.window.prompt_panel import PromptPanel

STATUS_MS = 10_000


class FileInputsWindow(QMainWindow):
    """A main window that restores parameters from an image written by Studio, AUTOMATIC1111,
    ComfyUI, InvokeAI, Fooocus or NovelAI, and takes an init image from a file. The window
    itself provides the panels and `show_message`."""

    prompt_panel: PromptPanel
    params_panel: ParamsPanel

    def show_message(self, text: str) -> None:
        raise NotImplementedError

    def restore_from_png(self, path: Path) -> bool:
        """Fill the prompt and parameters from the settings inside the image at `path` (any
        of the tools above, PNG, JPEG or WebP); False, with the reason shown, when it has
        none Studio can use."""
        try:
            found = read_generation_settings(path)
        except BackendError as exc:
            self.show_message(str(exc))
            return False
        request = found.request
        self.prompt_panel.set_prompt(request.prompt)
        self.prompt_panel.set_negative(request.negative_prompt)
        data = request.to_dict()
        # A seed or size the image lacks keeps the user's; steps, guidance and a sampler it
        # lacks are the model's defaults, as they were for whoever made it.
        for key in ("seed", "width", "height"):
            if key not in found.found:
                data.pop(key, None)
        if "strength" in found.found:
            data["strength"] = request.strength
        self.params_panel.apply_request(data)
        self.show_message("")
        origin = "" if found.tool == "Studio" else f"{found.tool} "
        note = f"; not used: {'; '.join(found.skipped)}" if found.skipped else ""
        self.statusBar().showMessage(
            f"Restored the {origin}parameters of {path.name}{note}", STATUS_MS)
        return True

    def use_as_init_image(self, path: Path) -> bool:
        try:
            self.params_panel.set_init_image(load_image(path))
        except BackendError as exc:
            self.show_message(str(exc))
            return False
        self.show_message("")
        self.statusBar().showMessage(f"{path.name} is the init image", STATUS_MS)
        return True

    def take_dropped_image(self, path: Path, *, as_init_image: bool = False) -> bool:
        """A dropped image: its settings when it carries some, else (or with Shift held) it
        becomes the init image."""
        if not as_init_image:
            try:
                read_generation_settings(path)
            except NoGenerationSettings:
                as_init_image = True
            except BackendError as exc:
                self.show_message(str(exc))
                return False
        if as_init_image:
            return self.use_as_init_image(path)
        return self.restore_from_png(path)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        if dropped_images(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        images = dropped_images(event.mimeData())
        if images:
            shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
            self.take_dropped_image(images[0], as_init_image=shift)
            event.acceptProposedAction()

    def _ask_png_to_restore(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Restore parameters from an image", "",
                                              IMAGE_FILES)
        if path:
            self.restore_from_png(Path(path))

    def _ask_init_image(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose an init image", "", IMAGE_FILES)
        if path:
            try:
                self.params_panel.set_init_image(load_image(path))
            except BackendError as exc:
                self.show_message(str(exc))
