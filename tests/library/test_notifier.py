"""The library's events as Qt signals on the GUI thread, following the library it is given."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QThread

from studio.library import Library
from studio.library.notifier import LibraryNotifier
from tests.library.results import make_result


@pytest.fixture
def notifier(qapp, lib: Library) -> Iterator[LibraryNotifier]:
    notifier = LibraryNotifier(lib)
    yield notifier
    notifier.detach()
    notifier.deleteLater()


@pytest.fixture
def other(tmp_path: Path) -> Iterator[Library]:
    library = Library.open(tmp_path / "other")
    yield library
    library.close()


def _record_in_a_worker(library: Library) -> list:
    records: list = []
    worker = threading.Thread(target=lambda: records.extend(library.record(make_result())))
    worker.start()
    worker.join()
    return records


def test_changes_become_signals(qtbot, notifier: LibraryNotifier, lib: Library) -> None:
    with qtbot.waitSignal(notifier.added, timeout=1000) as added:
        records = lib.record(make_result(count=2))
    assert added.args == [records]
    with qtbot.waitSignal(notifier.changed, timeout=1000) as changed:
        lib.set_favourite(records[0].id, True)
    assert changed.args[0].id == records[0].id and changed.args[0].favourite
    with qtbot.waitSignal(notifier.removed, timeout=1000) as removed:
        lib.delete(records[1].id)
    assert removed.args == [[records[1].id]]


def test_a_worker_threads_change_arrives_on_the_gui_thread(
    qtbot, notifier: LibraryNotifier, lib: Library
) -> None:
    threads: list[QThread] = []
    notifier.added.connect(lambda records: threads.append(QThread.currentThread()))
    with qtbot.waitSignal(notifier.added, timeout=5000) as added:
        records = _record_in_a_worker(lib)
    assert added.args == [records]
    assert threads == [QCoreApplication.instance().thread()]


def test_attach_follows_the_new_library_only(
    qtbot, notifier: LibraryNotifier, lib: Library, other: Library
) -> None:
    with qtbot.waitSignal(notifier.switched, timeout=1000) as switched:
        notifier.attach(other)
    assert switched.args == [other] and notifier.library is other
    assert lib.events.listener_count == 0 and other.events.listener_count == 1
    with qtbot.assertNotEmitted(notifier.added, wait=50):
        lib.record(make_result())
    with qtbot.waitSignal(notifier.added, timeout=1000):
        other.record(make_result())


def test_an_event_still_on_its_way_from_the_old_library_is_dropped(
    qtbot, notifier: LibraryNotifier, lib: Library, other: Library
) -> None:
    with qtbot.assertNotEmitted(notifier.added, wait=100):
        _record_in_a_worker(lib)  # announced, queued, not delivered yet
        notifier.attach(other)


def test_a_deleted_notifier_lets_go_of_the_library(qtbot, lib: Library) -> None:
    notifier = LibraryNotifier(lib)
    assert lib.events.listener_count == 1
    notifier.deleteLater()
    qtbot.waitUntil(lambda: not _alive(notifier))
    lib.record(make_result())  # the next event finds it gone
    assert lib.events.listener_count == 0


def _alive(notifier: LibraryNotifier) -> bool:
    import shiboken6

    QCoreApplication.sendPostedEvents(None, 0)
    return shiboken6.isValid(notifier)
