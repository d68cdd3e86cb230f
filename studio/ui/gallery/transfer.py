"""Images leaving the gallery: what a drag or Ctrl+C carries.

File managers and browsers take the file (`text/uri-list` of file:// URLs); image editors,
chats and documents take the pixels (Qt's image data, offered to them as image/png); GNOME
file managers paste files from `x-special/gnome-copied-files`. Only files that still exist go.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QMimeData, QUrl
from PySide6.QtGui import QGuiApplication, QImage

from studio.library import ImageRecord

GNOME_COPIED_FILES = "x-special/gnome-copied-files"


def image_mime_data(records: Sequence[ImageRecord]) -> QMimeData | None:
    """The images' files as URLs, and the first one's pixels; None when no file is there."""
    paths = [record.path for record in records if record.path.is_file()]
    if not paths:
        return None
    urls = [QUrl.fromLocalFile(str(path)) for path in paths]
    mime = QMimeData()
    mime.setUrls(urls)
    image = QImage(str(paths[0]))
    if not image.isNull():
        mime.setImageData(image)
    mime.setData(GNOME_COPIED_FILES,
                 "\n".join(["copy", *(url.toString() for url in urls)]).encode())
    return mime


def copy_images(records: Sequence[ImageRecord]) -> bool:
    """Put the images on the clipboard; False when none of their files is there."""
    mime = image_mime_data(records)
    if mime is None:
        return False
    QGuiApplication.clipboard().setMimeData(mime)
    return True


def copied_message(count: int) -> str:
    """What the status bar says after Ctrl+C in the gallery."""
    if count == 0:
        return "Nothing copied: select an image whose file is still there"
    return f"Copied {count} image{'s' if count != 1 else ''} (file and picture)"
