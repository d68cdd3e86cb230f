"""The few objects the UI talks to: settings, library, generation loop, job queue, session
totals and backends."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from studio.backend_kinds import BackendProvider
from studio.costs.session_totals import Session
from studio.costs.spending import SpendingGuard
from studio.generation.job_queue import JobQueue
from studio.generation.loop import GenerationLoop
from studio.library import Library, LibraryError
from studio.library.notifier import LibraryNotifier
from studio.settings.store import SettingsStore


@dataclass
class StudioContext:
    settings: SettingsStore
    library: Library
    loop: GenerationLoop
    jobs: JobQueue
    session: Session
    backends: BackendProvider
    # The library's changes as Qt signals; it follows the library across folder switches.
    library_notifier: LibraryNotifier = field(init=False)
    # Libraries switched away from: a run in flight may still write to one; closed at close().
    _retired_libraries: list[Library] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        self.library_notifier = LibraryNotifier(self.library)

    @classmethod
    def create(cls, settings_path: Path | None = None) -> StudioContext:
        store = SettingsStore(settings_path)
        library = Library.open(store.settings.library_path())
        guard = SpendingGuard(lambda: context.library,
                              lambda: context.settings.settings.costs.budget_usd_per_day)
        loop = GenerationLoop(lambda: context.library, guard.check)
        context = cls(store, library, loop, JobQueue(loop), Session(),
                      BackendProvider(store.settings))
        # Every run of the loop counts: the queue's, a batch's, a comparison's.
        loop.subscribe(lambda generated: context.session.add(generated.result))
        store.changed.connect(context._on_settings_changed)
        return context

    def _on_settings_changed(self, settings) -> None:
        self.backends.update(settings)
        wanted = settings.library_path()
        if wanted.resolve() != self.library.root.resolve():
            try:
                library = Library.open(wanted)
            except LibraryError as exc:  # keep working in the library that is open
                self.library_notifier.failed.emit(
                    f"Still using {self.library.root}: the library folder {wanted} could not "
                    f"be opened. {exc}")
                return
            self._switch_library(library)

    def _switch_library(self, library: Library) -> None:
        # Whoever asks `self.library` gets the new one before any widget hears `switched`,
        # so a widget reloading in that signal reads the new folder whatever the order of
        # the settings.changed connections.
        old, self.library = self.library, library
        self.library_notifier.attach(library)
        self._retired_libraries.append(old)

    def close(self) -> None:
        self.jobs.shutdown()
        self.library_notifier.detach()
        for library in (*self._retired_libraries, self.library):
            library.close()
