"""Settings as observable state: the UI edits them here and everyone who cares hears `changed`."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal

from studio.settings.values import Settings, load_settings, save_settings


class SettingsStore(QObject):
    changed = Signal(object)  # the new Settings

    def __init__(self, path: Path | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._path = path
        self._settings = load_settings(path)

    @property
    def settings(self) -> Settings:
        return self._settings

    def update(self, settings: Settings) -> None:
        """Persist first, then announce: a listener never sees settings that were not saved."""
        if settings == self._settings:
            return
        save_settings(settings, self._path)
        self._settings = settings
        self.changed.emit(settings)
