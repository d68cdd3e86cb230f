"""Help → About: the version, the build and the licences of the components it carries."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio import __version__
from studio.build_info import build_flavour
from studio.components import Component, bundled_components
from studio.paths import resources_dir, studio_home

FLAVOURS = {
    "cloud": "cloud edition (SageMaker and Bedrock; no local generation)",
    "full": "full edition (local GPU, SageMaker and Bedrock)",
    "source": "installed from source",
}


class AboutDialog(QDialog):
    def __init__(self, parent: QWidget | None = None,
                 components: list[Component] | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About Studio")
        self.resize(620, 520)
        self.components = components if components is not None else bundled_components()

        icon = QLabel()
        pixmap = QPixmap(str(resources_dir() / "icons" / "studio-128.png"))
        if not pixmap.isNull():
            icon.setPixmap(pixmap.scaled(96, 96, Qt.AspectRatioMode.KeepAspectRatio,
                                         Qt.TransformationMode.SmoothTransformation))
        flavour = FLAVOURS.get(build_flavour(), build_flavour())
        self.title = QLabel(
            f"<h2>Studio {html.escape(__version__)}</h2>"
            f"<p>{html.escape(flavour)}</p>"
            "<p>Generate product images on your own GPU, a SageMaker endpoint or Amazon "
            "Bedrock, with the latency and cost of every image.</p>"
            f"<p>Your images and settings are kept in {html.escape(str(studio_home()))}</p>")
        self.title.setWordWrap(True)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        header = QHBoxLayout()
        header.addWidget(icon, 0, Qt.AlignmentFlag.AlignTop)
        header.addWidget(self.title, 1)

        self.table = QTableWidget(len(self.components), 3)
        self.table.setHorizontalHeaderLabels(["Component", "Version", "Licence"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for row, component in enumerate(self.components):
            for column, text in enumerate((component.name, component.version, component.licence)):
                item = QTableWidgetItem(text)
                if component.note:
                    item.setToolTip(component.note)
                if not component.included:
                    item.setForeground(self.palette().color(self.palette().ColorRole.PlaceholderText))
                self.table.setItem(row, column, item)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(
            1, QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setSectionResizeMode(
            2, QHeaderView.ResizeMode.ResizeToContents)

        notice = QLabel(
            "Studio uses Qt and PySide6 under the GNU LGPL v3; they are included as separate "
            "shared libraries, so you may replace them with your own builds. The licence texts "
            "of the other components travel with them in this installation.")
        notice.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.table, 1)
        layout.addWidget(notice)
        layout.addWidget(buttons)

    def rows(self) -> list[tuple[str, str, str]]:
        return [tuple(self.table.item(row, column).text() for column in range(3))  # type: ignore
                for row in range(self.table.rowCount())]
