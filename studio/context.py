"""The few objects the UI talks to: settings, library, job queue, session totals, backends."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from studio.backend_factory import BackendProvider
from studio.costs.session_totals import Session
from studio.costs.spending import SpendingGuard
from studio.generation.job_queue import JobQueue
from studio.library.store import Library
from studio.settings.store import SettingsStore


@dataclass
class StudioContext:
    settings: SettingsStore
    library: Library
    jobs: JobQueue
    session: Session
    backends: BackendProvider

    @classmethod
    def create(cls, settings_path: Path | None = None) -> StudioContext:
        store = SettingsStore(settings_path)
        library = Library.open(store.settings.library_path())
        context = cls(store, library, JobQueue(library), Session(),
                      BackendProvider(store.settings))
        context.jobs.finished.connect(lambda job, result, records: context.session.add(result))
        context.jobs.spending_check = SpendingGuard(
            lambda: context.library,
            lambda: context.settings.settings.costs.budget_usd_per_day).check
        store.changed.connect(context._on_settings_changed)
        return context

    def _on_settings_changed(self, settings) -> None:
        self.backends.update(settings)
        wanted = settings.library_path()
        if wanted.resolve() != self.library.root.resolve():
            self.library = Library.open(wanted)
            self.jobs.library = self.library

    def close(self) -> None:
        self.jobs.shutdown()
        self.library.close()
