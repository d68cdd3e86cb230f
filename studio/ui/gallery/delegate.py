"""How one gallery tile looks: the thumbnail, a latency and a cost badge, a ★ for favourites."""

from __future__ import annotations

from collections import OrderedDict

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette, QPen, QPixmap
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from studio.formatting import format_usd_compact, per_image_seconds
from studio.library import ImageRecord
from studio.ui.gallery.model import MissingRole, RecordRole

TILE_SIZE = 176
_MARGIN = 4
_BADGE_PAD = 3
_BADGE_GAP = 9  # the badges' insets from the tile's edges and a little air
_STAR = "★"
_BADGE_BACK = QColor(0, 0, 0, 170)
_BADGE_TEXT = QColor(255, 255, 255)
_STAR_COLOUR = QColor(255, 196, 0)
_BADGE_CACHE = 1024


def images_in_run(record: ImageRecord) -> int:
    try:
        return max(1, int(record.request.get("count", 1) or 1))
    except (TypeError, ValueError):
        return 1


def _short_seconds(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} m {rest:02d} s"


def latency_badge(record: ImageRecord, *, with_run: bool = True) -> str:
    """The image's own share of its run, short enough for a tile ("0.8 s", "12 s",
    "2 m 05 s"); for a run of several images the run's total beside it ("1.2 s · 4.8 s run")
    unless `with_run` is False (a tile too narrow for both)."""
    count = images_in_run(record)
    each = _short_seconds(per_image_seconds(record.latency_s, count))
    if count == 1 or not with_run:
        return each
    return f"{each} · {_short_seconds(record.latency_s)} run"


def cost_badge(record: ImageRecord) -> str:
    """The image's cost in the wording of `format_usd` ("<$0.0001", "$0.0031", "$0.04",
    "$1.25"), with "~" in front when it is an estimate ("<" already says it is no more)."""
    text = format_usd_compact(record.cost.usd)
    return ("~" + text) if record.cost.estimated and not text.startswith("<") else text


class GalleryDelegate(QStyledItemDelegate):
    def __init__(self, parent=None, *, tile_size: int = TILE_SIZE) -> None:
        super().__init__(parent)
        self.tile_size = tile_size
        # Badges drawn once per text: text layout was the largest share of a frame.
        self._badges: OrderedDict[tuple[str, str, str, float], QPixmap] = OrderedDict()

    def sizeHint(self, option: QStyleOptionViewItem,
                 index: QModelIndex | QPersistentModelIndex) -> QSize:
        return QSize(self.tile_size, self.tile_size)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        # The model's own data(), not index.data(): no QVariant round trip per role.
        model = index.model()
        record = model.data(index, RecordRole)
        if record is None:
            return
        palette = option.palette  # type: ignore[attr-defined]
        state = option.state  # type: ignore[attr-defined]
        tile = option.rect.adjusted(_MARGIN, _MARGIN, -_MARGIN, -_MARGIN)  # type: ignore[attr-defined]
        painter.save()
        try:
            painter.fillRect(tile, palette.color(QPalette.ColorRole.AlternateBase))
            pixmap = model.data(index, Qt.ItemDataRole.DecorationRole)
            if isinstance(pixmap, QPixmap) and not pixmap.isNull():
                target = _fit(pixmap.size(), tile)
                if target.size() != pixmap.size():
                    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
                painter.drawPixmap(target, pixmap)
            else:
                _placeholder(painter, palette, tile, bool(model.data(index, MissingRole)))
            font = option.font  # type: ignore[attr-defined]
            ratio = painter.device().devicePixelRatioF()
            left, right = self.tile_badges(record, font, ratio, tile.width())
            bottom = tile.bottom() - 2
            painter.drawPixmap(tile.left() + 3, bottom - _logical_height(left), left)
            painter.drawPixmap(tile.right() - 2 - _logical_width(right),
                               bottom - _logical_height(right), right)
            if record.favourite:
                star = self.badge(_STAR, _STAR_COLOUR, font, ratio)
                painter.drawPixmap(tile.right() - 2 - _logical_width(star), tile.top() + 3, star)
            if state & QStyle.StateFlag.State_Selected:
                painter.setPen(QPen(palette.color(QPalette.ColorRole.Highlight), 3))
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawRect(QRectF(tile).adjusted(1.5, 1.5, -1.5, -1.5))
            elif state & QStyle.StateFlag.State_MouseOver:
                painter.setPen(QPen(palette.color(QPalette.ColorRole.Mid), 1))
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawRect(QRectF(tile).adjusted(0.5, 0.5, -0.5, -0.5))
        finally:
            painter.restore()

    def tile_badges(self, record: ImageRecord, font: QFont, ratio: float,
                    width: int) -> tuple[QPixmap, QPixmap]:
        """The latency and cost badges; the run's total is left out where both would not
        fit side by side in `width`."""
        right = self.badge(cost_badge(record), _BADGE_TEXT, font, ratio)
        left = self.badge(latency_badge(record), _BADGE_TEXT, font, ratio)
        if _logical_width(left) + _logical_width(right) + _BADGE_GAP > width:
            left = self.badge(latency_badge(record, with_run=False), _BADGE_TEXT, font, ratio)
        return left, right

    def badge(self, text: str, colour: QColor, base: QFont, ratio: float) -> QPixmap:
        key = (text, colour.name(), base.key(), ratio)
        pixmap = self._badges.get(key)
        if pixmap is not None:
            self._badges.move_to_end(key)
            return pixmap
        pixmap = _render_badge(text, colour, base, ratio)
        self._badges[key] = pixmap
        if len(self._badges) > _BADGE_CACHE:
            self._badges.popitem(last=False)
        return pixmap


def _render_badge(text: str, colour: QColor, base: QFont, ratio: float) -> QPixmap:
    font = QFont(base)
    font.setPointSizeF(max(6.0, font.pointSizeF() * 0.85))
    metrics = QFontMetrics(font)
    width = metrics.horizontalAdvance(text) + 2 * _BADGE_PAD
    height = metrics.height() + _BADGE_PAD
    pixmap = QPixmap(round(width * ratio), round(height * ratio))
    pixmap.setDevicePixelRatio(ratio)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setFont(font)
        box = QRectF(0, 0, width, height)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(_BADGE_BACK)
        painter.drawRoundedRect(box, 3, 3)
        painter.setPen(colour)
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
    finally:
        painter.end()
    return pixmap


def _placeholder(painter: QPainter, palette: QPalette, tile: QRect, missing: bool) -> None:
    painter.fillRect(tile.adjusted(6, 6, -6, -6), palette.color(QPalette.ColorRole.Midlight))
    if missing:
        painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
        painter.drawText(tile, Qt.AlignmentFlag.AlignCenter, "File missing")


def _logical_width(pixmap: QPixmap) -> int:
    return round(pixmap.width() / pixmap.devicePixelRatio())


def _logical_height(pixmap: QPixmap) -> int:
    return round(pixmap.height() / pixmap.devicePixelRatio())


def _fit(size: QSize, bounds: QRect) -> QRect:
    """`size` scaled to fit `bounds`, keeping its aspect ratio, centred."""
    scaled = size.scaled(bounds.size(), Qt.AspectRatioMode.KeepAspectRatio)
    left = bounds.left() + (bounds.width() - scaled.width()) // 2
    top = bounds.top() + (bounds.height() - scaled.height()) // 2
    return QRect(left, top, scaled.width(), scaled.height())
