"""A batch job's results, grouped by SKU: one row per product with its done/failed count,
one child per variant with its status, latency, cost and file. Double-clicking shows the
images in the gallery. Reads only the batch store; the dialog calls `refresh` as items
finish."""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from backends.errors import InvalidRequest
from studio.batch.store import BatchStore, Item, JobInfo

COLUMNS = ("SKU / variant", "Status", "Latency", "Cost", "File")
IdsRole = Qt.ItemDataRole.UserRole + 1  # list[int]: the library image ids a row stands for


def _sku_status(items: list[Item]) -> str:
    done = sum(item.status == "done" for item in items)
    failed = sum(item.status == "failed" for item in items)
    text = f"{done}/{len(items)} done"
    return text + (f", {failed} failed" if failed else "")


def _job_label(info: JobInfo) -> str:
    return f"#{info.id} · {info.state} · {info.counts['done']}/{info.total} · {info.catalog}"


class BatchResults(QWidget):
    """`show_in_gallery(ids, label)`: the library image ids of a row, and words for the chip
    that says what the gallery shows ("batch #3 · SKU T-1")."""

    show_in_gallery = Signal(list, str)

    def __init__(self, store: BatchStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.job_combo = QComboBox()
        self.job_combo.currentIndexChanged.connect(lambda _: self.refresh())
        self.tree = QTreeWidget()
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.itemDoubleClicked.connect(self._on_double_click)
        picker = QHBoxLayout()
        picker.addWidget(QLabel("Job"))
        picker.addWidget(self.job_combo, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(picker)
        layout.addWidget(self.tree)
        self.reload_jobs()

    def job_id(self) -> int | None:
        return self.job_combo.currentData()

    def reload_jobs(self, select: int | None = None) -> None:
        """Refill the job picker from the store (newest first), keeping or choosing one."""
        chosen = select if select is not None else self.job_id()
        with QSignalBlocker(self.job_combo):
            self.job_combo.clear()
            for info in self.store.jobs():
                self.job_combo.addItem(_job_label(info), info.id)
            self.job_combo.setCurrentIndex(max(0, self.job_combo.findData(chosen))
                                           if chosen is not None else 0)
        self.refresh()

    def set_job(self, job_id: int) -> None:
        self.reload_jobs(select=job_id)

    def refresh(self) -> None:
        """Rebuild the tree for the chosen job, keeping which SKUs are expanded."""
        job_id = self.job_id()
        expanded = {self.tree.topLevelItem(i).text(0) for i in range(self.tree.topLevelItemCount())
                    if self.tree.topLevelItem(i).isExpanded()}
        self.tree.clear()
        if job_id is None:
            return
        try:
            info = self.store.job(job_id)
        except InvalidRequest:
            return
        index = self.job_combo.findData(job_id)
        if index >= 0:
            self.job_combo.setItemText(index, _job_label(info))
        by_sku: dict[str, list[Item]] = {}
        for item in self.store.items(job_id):
            by_sku.setdefault(item.sku, []).append(item)
        for sku, items in by_sku.items():
            ids = [i.library_image_id for i in items if i.library_image_id is not None]
            cost = sum(i.cost_usd for i in items)
            top = QTreeWidgetItem([sku, _sku_status(items), "", f"${cost:.4f}", ""])
            top.setData(0, IdsRole, ids)
            for item in items:
                child = QTreeWidgetItem([
                    item.variant, item.status,
                    f"{item.latency_s:.1f} s" if item.latency_s else "",
                    f"${item.cost_usd:.4f}" if item.cost_usd else "", item.file])
                if item.error:
                    child.setToolTip(1, item.error)
                child.setData(0, IdsRole, [item.library_image_id]
                              if item.library_image_id is not None else [])
                top.addChild(child)
            self.tree.addTopLevelItem(top)
            top.setExpanded(sku in expanded)
        for column in range(len(COLUMNS) - 1):
            self.tree.resizeColumnToContents(column)

    def sku_row(self, sku: str) -> QTreeWidgetItem | None:
        for i in range(self.tree.topLevelItemCount()):
            if self.tree.topLevelItem(i).text(0) == sku:
                return self.tree.topLevelItem(i)
        return None

    def _on_double_click(self, row: QTreeWidgetItem, _column: int = 0) -> None:
        ids = row.data(0, IdsRole) or []
        if not ids:
            return
        parent = row.parent()
        sku = parent.text(0) if parent is not None else row.text(0)
        label = f"batch #{self.job_id()} · SKU {sku}"
        if parent is not None:
            label += f" · {row.text(0)}"
        self.show_in_gallery.emit(list(ids), label)
