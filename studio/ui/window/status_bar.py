"""The window's status bar: the current backend on the left, money and images on the right.

It keeps itself current: the session totals when a run is counted, today's totals when the
library gains or loses images (whoever recorded them) or moves to another folder, and the
backend and its device ("Local · NVIDIA H100 80GB HBM3", "Local · CPU": forecast without
torch at start-up, then what a run really used) when the settings change or a run is counted.

When the library opens (or Settings switches to another) and its sweep put something right
that an interrupted save left (`Library.last_sweep`), a notice says what, once, until closed.
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QHBoxLayout, QLabel, QStatusBar, QToolButton, QWidget

from studio.context import StudioContext
from studio.costs.spending import today_totals
from studio.library import Library, LibraryError
from studio.library.orphans import OrphanSweep
from studio.ui.window.cost_status import burn_text, totals_text


class WindowStatus(QObject):
    """Fills `backend_label` and `totals_label` in `bar` from the context."""

    def __init__(self, context: StudioContext, bar: QStatusBar) -> None:
        super().__init__(bar)
        self.context = context
        self.backend_label = QLabel()
        self.totals_label = QLabel()
        self.sweep_notice = SweepNotice()
        bar.addWidget(self.backend_label)
        bar.addWidget(self.sweep_notice, 1)
        bar.addPermanentWidget(self.totals_label)
        notifier = context.library_notifier
        for signal in (context.session.changed, notifier.added, notifier.removed,
                       notifier.switched, context.settings.changed):
            signal.connect(self.show_totals)
        context.settings.changed.connect(self.show_backend)
        # After a run the backend knows the device it really used (the probe only forecasts).
        context.session.changed.connect(self.show_backend)
        notifier.switched.connect(self.show_sweep)
        self.show_backend()
        self.show_totals()
        self.show_sweep(context.library)

    def show_sweep(self, library: Library) -> None:
        """What opening `library` put right, if anything."""
        self.sweep_notice.show_sweep(getattr(library, "last_sweep", None))

    def show_backend(self, *_: object) -> None:
        info = self.context.backends.current().describe()
        self.backend_label.setText(f"{info.label} · {info.device}"
                                   + ("" if info.available else " · unavailable"))
        self.backend_label.setToolTip(info.detail)

    def show_totals(self, *_: object) -> None:
        context = self.context
        costs = context.settings.settings.costs
        try:
            today = today_totals(context.library)
        except LibraryError:
            today = None  # the session's part still shows; the next change tries again
        self.totals_label.setText(totals_text(context.session.totals, today,
                                              costs.budget_usd_per_day))
        session = context.session
        backend = context.backends.current()
        self.totals_label.setToolTip(burn_text(
            backend, session.elapsed_s(), session.images_by_backend.get(backend.name, 0)))


def sweep_text(sweep: OrphanSweep | None) -> str:
    """What the sweep did, for people; "" when it did nothing (PNGs of other tools in the
    folder are left alone every time, so they alone are not news)."""
    if sweep is None or not (sweep.reimported or sweep.moved or sweep.temp_removed
                             or sweep.failed):
        return ""
    parts = []
    if sweep.reimported:
        count = len(sweep.reimported)
        parts.append(f"recovered {count} image{'s' if count != 1 else ''} an interrupted save "
                     "left")
    if sweep.moved:
        count = len(sweep.moved)
        parts.append(f"moved {count} file{'s' if count != 1 else ''} it could not read to "
                     "orphans/")
    if sweep.temp_removed:
        parts.append(f"removed {sweep.temp_removed} half-written temp "
                     f"file{'s' if sweep.temp_removed != 1 else ''}")
    if sweep.failed:
        parts.append(f"looking for them stopped: {sweep.failed}")
    text = "; ".join(parts)
    return f"Library: {text}."


class SweepNotice(QWidget):
    """One line in the status bar with a close button; hidden when there is nothing to say."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel()
        self.close_button = QToolButton(text="✕", autoRaise=True)
        self.close_button.setToolTip("Dismiss")
        self.close_button.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 0, 0, 0)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.close_button)
        self.hide()

    def show_sweep(self, sweep: OrphanSweep | None) -> None:
        text = sweep_text(sweep)
        self.label.setText(text)
        self.label.setToolTip(sweep.summary() if sweep is not None and text else "")
        self.setVisible(bool(text))
