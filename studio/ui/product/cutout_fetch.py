""""Fetch cut-out model…": download the default cut-out model on a worker thread, with progress.

Offered when a product's mask came from GrabCut (the offline fallback). The download is
studio.onnx_models.fetch_model, the same as `studio product cutout-model fetch`; the window
stays responsive, and a failure (offline, the hub unreachable) is said in place.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QWidget,
)

from backends.errors import BackendError


class _Bridge(QObject):
    progress = Signal(int, int)  # bytes so far, total (0: unknown); from the worker thread
    finished = Signal(bool, str)  # ok, the model's method or the reason it failed


def progress_class(report: Callable[[int, int], None]) -> type:
    """A tqdm stand-in for huggingface_hub's `tqdm_class` that reports bytes to `report`."""

    class Progress:
        def __init__(self, *_: Any, total: int | None = None, initial: int = 0,
                     **__: Any) -> None:
            self.total, self.n = total or 0, initial
            report(self.n, self.total)

        def update(self, n: int = 1) -> None:
            self.n += n
            report(self.n, self.total)

        def close(self) -> None:
            pass

        def __enter__(self) -> Progress:
            return self

        def __exit__(self, *_: object) -> None:
            self.close()

    return Progress


class CutoutFetch(QWidget):
    """A button, a progress bar and a message; `fetched(method)` once the model is here."""

    fetched = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.endpoint: str | None = None  # another hub (a mirror); None: huggingface.co
        self.button = QPushButton("Fetch cut-out model…")
        self.button.setAutoDefault(False)
        self.button.clicked.connect(self.start)
        self.button.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
        self.bar = QProgressBar()
        self.bar.setMaximumWidth(160)
        self.bar.hide()
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.hide()
        self._thread: threading.Thread | None = None
        self._bridge = _Bridge()
        self._bridge.progress.connect(self._on_progress)
        self._bridge.finished.connect(self._on_finished)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.button)
        row.addWidget(self.bar)
        row.addWidget(self.message, 1)
        row.addStretch(0)  # the button keeps its own width while the message is hidden
        self._describe()

    def _describe(self) -> None:
        try:
            from studio.onnx_models import find_model

            model = find_model("cutout")
        except BackendError as exc:
            self.button.setToolTip(str(exc))
            return
        self.button.setToolTip(f"Download {model.label} ({model.licence}, about "
                               f"{model.size_mb:g} MB) once from the Hugging Face hub; "
                               "product masks then use it instead of GrabCut.")

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        from studio.onnx_models import find_model

        try:
            model = find_model("cutout")
        except BackendError as exc:
            self._say(str(exc), error=True)
            return
        self.button.setEnabled(False)
        self.bar.setRange(0, 0)  # busy until the size is known
        self.bar.show()
        self._say(f"Downloading {model.label} (about {model.size_mb:g} MB)…", error=False)
        self._thread = threading.Thread(target=self._work, args=(model,), daemon=True,
                                        name="studio-fetch-cutout")
        self._thread.start()

    def wait(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _work(self, model: Any) -> None:
        from studio.onnx_models import fetch_model

        try:
            fetch_model(model, progress=progress_class(self._bridge.progress.emit),
                        endpoint=self.endpoint)
            ok, text = True, model.method
        except BackendError as exc:
            ok, text = False, str(exc)
        except Exception as exc:  # a bug in the download must still end the busy state
            ok, text = False, f"{type(exc).__name__}: {exc}"
        try:
            self._bridge.finished.emit(ok, text)
        except RuntimeError:
            pass  # the dialog was closed while downloading

    def _on_progress(self, done: int, total: int) -> None:
        if total > 0:
            self.bar.setRange(0, 1000)
            self.bar.setValue(min(1000, int(1000 * done / total)))

    def _on_finished(self, ok: bool, text: str) -> None:
        self.button.setEnabled(True)
        self.bar.hide()
        if ok:
            self._say("", error=False)
            self.fetched.emit(text)
        else:
            self._say(f"Could not fetch the cut-out model: {text} The GrabCut mask stays; "
                      "try again when online.", error=True)

    def _say(self, text: str, *, error: bool) -> None:
        self.message.setStyleSheet("color: #d9534f" if error else "")
        self.message.setText(text)
        self.message.setVisible(bool(text))
