"""The window's status bar: the current backend on the left, money and images on the right.

It keeps itself current: the session totals when a run is counted, today's totals when the
library gains or loses images (whoever recorded them) or moves to another folder, and the
backend and its device ("Local · NVIDIA H100 80GB HBM3", "Local · CPU": forecast without
torch at start-up, then what a run really used) when the settings change or a run is counted.
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QLabel, QStatusBar

from studio.context import StudioContext
from studio.costs.spending import today_totals
from studio.library import LibraryError
from studio.ui.window.cost_status import burn_text, totals_text


class WindowStatus(QObject):
    """Fills `backend_label` and `totals_label` in `bar` from the context."""

    def __init__(self, context: StudioContext, bar: QStatusBar) -> None:
        super().__init__(bar)
        self.context = context
        self.backend_label = QLabel()
        self.totals_label = QLabel()
        bar.addWidget(self.backend_label)
        bar.addPermanentWidget(self.totals_label)
        notifier = context.library_notifier
        for signal in (context.session.changed, notifier.added, notifier.removed,
                       notifier.switched, context.settings.changed):
            signal.connect(self.show_totals)
        context.settings.changed.connect(self.show_backend)
        # After a run the backend knows the device it really used (the probe only forecasts).
        context.session.changed.connect(self.show_backend)
        self.show_backend()
        self.show_totals()

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
