"""The library as a list model: newest first, filtered, loaded a page at a time."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QMimeData,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)

from studio.formatting import short_prompt
from studio.library import ImageRecord, Library
from studio.ui.gallery.thumbnails import ThumbnailCache
from studio.ui.gallery.transfer import image_mime_data

RecordRole = Qt.ItemDataRole.UserRole + 1
MissingRole = Qt.ItemDataRole.UserRole + 2  # True when the image file cannot be read
PAGE_SIZE = 200

_Index = QModelIndex | QPersistentModelIndex


class GalleryModel(QAbstractListModel):
    """Rows are ImageRecords. Pages load through canFetchMore/fetchMore as the view scrolls.

    Paging is by key (the last loaded record), not by offset, so images recorded while
    browsing neither repeat nor shift a page.
    """

    count_changed = Signal(int)  # images matching the filters, loaded or not

    def __init__(
        self,
        library: Library,
        thumbnails: ThumbnailCache,
        parent: QObject | None = None,
        *,
        page_size: int = PAGE_SIZE,
    ) -> None:
        super().__init__(parent)
        self.library = library
        self.thumbnails = thumbnails
        self.page_size = page_size
        self._filters: dict[str, Any] = {}
        self._records: list[ImageRecord] = []
        self._rows: dict[int, int] = {}  # image id -> row
        self._exhausted = False
        self._total = 0
        thumbnails.ready.connect(self._on_thumbnail)
        self._reload()

    # --- Qt model -------------------------------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._records)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._records):
            return None
        record = self._records[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return short_prompt(record.prompt)
        if role == Qt.ItemDataRole.DecorationRole:
            return self.thumbnails.get(record)
        if role == RecordRole:
            return record
        if role == MissingRole:
            return self.thumbnails.failed(record)
        if role == Qt.ItemDataRole.ToolTipRole:
            return record.prompt
        return None

    # Tiles drag out as files (to a file manager, a browser) and as pixels; never moved.
    def flags(self, index: _Index) -> Qt.ItemFlag:
        flags = super().flags(index)
        return flags | Qt.ItemFlag.ItemIsDragEnabled if index.isValid() else flags

    def mimeTypes(self) -> list[str]:  # noqa: N802 - Qt override
        return ["text/uri-list", "application/x-qt-image"]

    def mimeData(self, indexes: Iterable[QModelIndex]) -> QMimeData | None:  # noqa: N802
        rows = sorted({index.row() for index in indexes if index.isValid()})
        return image_mime_data([self._records[row] for row in rows
                                if 0 <= row < len(self._records)])

    def supportedDragActions(self) -> Qt.DropAction:  # noqa: N802 - Qt override
        return Qt.DropAction.CopyAction

    def canFetchMore(self, parent: _Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and not self._exhausted

    def fetchMore(self, parent: _Index = QModelIndex()) -> None:  # noqa: B008
        if parent.isValid() or self._exhausted:
            return
        after = self._records[-1] if self._records else None
        # One row more than a page says whether another page exists without a count.
        page = self.library.search(**self._filters, after=after, limit=self.page_size + 1)
        self._exhausted = len(page) <= self.page_size
        page = page[: self.page_size]
        page = [record for record in page if record.id not in self._rows]
        if not page:
            return
        first = len(self._records)
        self.beginInsertRows(QModelIndex(), first, first + len(page) - 1)
        for offset, record in enumerate(page):
            self._rows[record.id] = first + offset
        self._records.extend(page)
        self.endInsertRows()

    # --- what the gallery does with it ----------------------------------------------------

    @property
    def filters(self) -> dict[str, Any]:
        return dict(self._filters)

    @property
    def total(self) -> int:
        return self._total

    def set_filters(
        self,
        text: str | None = None,
        backend: str | None = None,
        model: str | None = None,
        favourites_only: bool = False,
        since: datetime | None = None,
        until: datetime | None = None,
        ids: Iterable[int] | None = None,
        live: bool | None = None,
    ) -> None:
        """Show only the matching images (None or False: no filter), from the newest.
        `ids` keeps only those images; an empty list shows none. `live`: None shows live
        mode's images with the rest, False hides them, True shows only them."""
        filters: dict[str, Any] = {
            "text": text or None, "backend": backend, "model": model,
            "favourites_only": favourites_only, "since": since, "until": until,
        }
        self._filters = {key: value for key, value in filters.items() if value}
        if ids is not None:
            self._filters["ids"] = list(ids)
        if live is not None:
            self._filters["live"] = live
        self._reload()

    def set_library(self, library: Library) -> None:
        self.library = library
        self._reload()

    def refresh(self) -> None:
        """Read again from the library, keeping the filters, from the first page."""
        self._reload()

    def recount(self) -> None:
        """Count the matching images again (some changed without passing through here)."""
        self._set_total(self.library.count(**self._filters))

    def record_at(self, index: _Index | int) -> ImageRecord:
        row = index if isinstance(index, int) else index.row()
        return self._records[row]

    def row_of(self, image_id: int) -> int | None:
        return self._rows.get(image_id)

    def records(self) -> list[ImageRecord]:
        return list(self._records)

    def prepend(self, records: Iterable[ImageRecord]) -> None:
        """Put freshly recorded images at the top, those the filters let through."""
        fresh = [record for record in records if record.id not in self._rows]
        if not fresh:
            return
        if self._filters:
            ids = [record.id for record in fresh]
            if "ids" in self._filters:
                shown = set(self._filters["ids"])
                ids = [image_id for image_id in ids if image_id in shown]
            filters = {**self._filters, "ids": ids}
            matching = {record.id for record in
                        self.library.search(**filters, limit=max(1, len(ids)))}
            fresh = [record for record in fresh if record.id in matching]
            if not fresh:
                return
        fresh.sort(key=lambda record: (record.created_at, record.id), reverse=True)
        self.beginInsertRows(QModelIndex(), 0, len(fresh) - 1)
        self._records[:0] = fresh
        self._index_rows()
        self.endInsertRows()
        self._set_total(self._total + len(fresh))

    def remove(self, image_id: int) -> None:
        row = self._rows.get(image_id)
        if row is None:
            return
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._records[row]
        self._index_rows()
        self.endRemoveRows()
        self._set_total(max(0, self._total - 1))

    def update_record(self, record: ImageRecord) -> None:
        """Show a changed record (a new favourite mark) where it is; it is not re-filtered."""
        row = self._rows.get(record.id)
        if row is None:
            return
        self._records[row] = record
        index = self.index(row)
        self.dataChanged.emit(index, index)

    # --- inside ---------------------------------------------------------------------------

    def _reload(self) -> None:
        self.beginResetModel()
        self._records = []
        self._rows = {}
        self._exhausted = False
        self.endResetModel()
        # The first page goes in as an insert, like every other page.
        self.fetchMore()
        self._set_total(self.library.count(**self._filters))

    def _index_rows(self) -> None:
        self._rows = {record.id: row for row, record in enumerate(self._records)}

    def _set_total(self, total: int) -> None:
        self._total = total
        self.count_changed.emit(total)

    def _on_thumbnail(self, image_id: int) -> None:
        row = self._rows.get(image_id)
        if row is not None:
            index = self.index(row)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])
