"""The Library facade: recording files and rows together, favourites, deleting, orphans."""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from backends.types import Cost
from studio.library import Library, LibraryError
from studio.library import files as files_module
from studio.library.png_metadata import request_from_png
from studio.library.schema import SCHEMA_VERSION
from tests.library.results import T0, make_result


def _rows(lib: Library, table: str) -> int:
    with sqlite3.connect(lib.db_path) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def _files(lib: Library) -> list[Path]:
    return sorted(p for p in lib.root.rglob("*") if p.is_file())


# --- recording ------------------------------------------------------------------------------


def test_record_writes_pngs_and_rows(lib: Library) -> None:
    result = make_result(count=2, seed=100)
    records = lib.record(result, estimate=Cost(0.06, "price book"))

    assert [r.seed for r in records] == [100, 101]
    assert _rows(lib, "runs") == 1 and _rows(lib, "images") == 2
    for index, record in enumerate(records):
        local = T0.astimezone()
        assert record.path.parent == lib.root / local.strftime("%Y-%m-%d")
        assert record.path.name == (
            f"{local:%Y%m%d-%H%M%S}_{record.run_id[:8]}_{index}_{record.seed}.png"
        )
        assert hashlib.sha256(record.path.read_bytes()).hexdigest() == record.sha256
        assert record.cost == Cost(0.02, "2 images", estimated=False)
        assert record.estimate == Cost(0.03, "price book", estimated=True)
        assert record.latency_s == 3.0
        assert record.timings.inference_s == 2.0
        assert record.created_at == T0
        assert (record.width, record.height, record.favourite) == (64, 64, False)
        assert (record.backend, record.model, record.device, record.mode) == (
            "local", "sd-turbo", "cuda", "txt2img"
        )
        assert record.request["seed"] == 100 and record.request["count"] == 2

        with Image.open(record.path) as opened:
            text = opened.text
        assert f"Seed: {record.seed}," in text["parameters"]
        assert json.loads(text["studio"])["seed"] == record.seed
        assert request_from_png(record.path).seed == record.seed
    assert not list(lib.root.rglob(".tmp-*"))


def test_init_image_is_saved_once_and_shared(lib: Library) -> None:
    init = Image.new("RGB", (64, 64), (10, 200, 10))
    first = lib.record(make_result(init_image=init, count=1))
    second = lib.record(make_result(init_image=init, count=1, seed=5))
    inputs = list((lib.root / "inputs").iterdir())
    assert len(inputs) == 1 and re.fullmatch(r"[0-9a-f]{64}\.png", inputs[0].name)
    assert first[0].mode == "img2img"
    with sqlite3.connect(lib.db_path) as conn:
        stored = {row[0] for row in conn.execute("SELECT init_image_path FROM runs")}
    assert stored == {f"inputs/{inputs[0].name}"}

    # The input stays while any run still uses it.
    lib.delete(first[0].id)
    assert inputs[0].exists()
    lib.delete(second[0].id)
    assert not inputs[0].exists()


def test_schema_is_idempotent_and_versioned(tmp_path: Path) -> None:
    with Library(tmp_path / "lib", tmp_path / "db.sqlite") as first:
        first.record(make_result())
    with Library(tmp_path / "lib", tmp_path / "db.sqlite") as again:
        assert again.count() == 2
        assert again.search("sneaker")[0].prompt == "a red sneaker on white"
    with sqlite3.connect(tmp_path / "db.sqlite") as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(LibraryError, match="newer Studio"):
        Library(tmp_path / "lib", tmp_path / "db.sqlite")


def test_open_default_uses_studio_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUDIO_HOME", str(tmp_path / "home"))
    with Library.open_default() as library:
        assert library.root == tmp_path / "home" / "library"
        assert library.db_path == tmp_path / "home" / "library" / "studio.db"
    with Library.open(tmp_path / "elsewhere") as library:
        assert library.db_path == tmp_path / "elsewhere" / "studio.db"


def test_record_from_many_threads(lib: Library) -> None:
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            lib.record(make_result(f"thread {n} shoe", count=1, seed=n))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert lib.count() == 8 and lib.count("shoe") == 8


def test_favourites(filled: Library) -> None:
    target = filled.search("mug")[0]
    assert filled.set_favourite(target.id, True)
    assert [r.id for r in filled.search(favourites_only=True)] == [target.id]
    assert filled.get(target.id).favourite  # type: ignore[union-attr]
    assert filled.set_favourite(target.id, False)
    assert filled.count(favourites_only=True) == 0
    assert not filled.set_favourite(999_999, True)


def test_delete_removes_row_file_and_the_last_run(filled: Library) -> None:
    first, second = filled.search("shoes")
    assert filled.delete(first.id)
    assert filled.get(first.id) is None
    assert not first.path.exists()
    assert second.path.exists() and _rows(filled, "runs") == 3

    assert filled.delete(second.id)
    assert _rows(filled, "runs") == 2
    assert filled.count("shoes") == 0
    assert not filled.delete(second.id)


# --- atomic writes --------------------------------------------------------------------------


def test_failed_insert_leaves_no_file_and_no_row(lib: Library) -> None:
    keep = lib.record(make_result("kept", count=1))
    # A real SQLite failure after the run row went in: the whole transaction must roll back.
    with sqlite3.connect(lib.db_path) as conn:
        conn.execute("CREATE TRIGGER fail BEFORE INSERT ON images "
                     "BEGIN SELECT RAISE(ABORT, 'disk on fire'); END")
    with pytest.raises(LibraryError, match="Could not save the images.*disk on fire") as raised:
        lib.record(make_result("lost", count=3, init_image=Image.new("RGB", (64, 64))))
    assert isinstance(raised.value.__cause__, sqlite3.DatabaseError)

    assert _rows(lib, "runs") == 1 and _rows(lib, "images") == 1
    assert _files(lib) == [keep[0].path]
    assert lib.search("lost") == []


def test_failure_in_the_transaction_rolls_back(
    lib: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_insert = Library._insert

    def insert(conn: sqlite3.Connection, table: str, row: dict[str, Any]) -> int:
        if table == "images" and row["seed"] == 101:
            raise RuntimeError("boom")
        return real_insert(conn, table, row)

    monkeypatch.setattr(Library, "_insert", staticmethod(insert))
    with pytest.raises(RuntimeError, match="boom"):
        lib.record(make_result(count=2))
    assert _rows(lib, "runs") == 0 and _rows(lib, "images") == 0
    assert _files(lib) == []
    monkeypatch.undo()
    assert len(lib.record(make_result(count=2))) == 2  # the connection is still usable


@pytest.mark.parametrize(
    ("fail_at", "failing_call"),
    # fsync runs twice per image (file, then folder): call 3 is the second image's data.
    [("encode", 2), ("fsync", 3), ("replace", 2)],
)
def test_failed_file_write_leaves_no_partial_file_and_no_row(
    lib: Library, monkeypatch: pytest.MonkeyPatch, fail_at: str, failing_call: int
) -> None:
    calls = {"n": 0}

    def failing(real: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            calls["n"] += 1
            if calls["n"] == failing_call:
                raise OSError("no space left on device")
            return real(*args, **kwargs)
        return wrapper

    if fail_at == "encode":
        monkeypatch.setattr(files_module, "encode_png", failing(files_module.encode_png))
    elif fail_at == "fsync":
        # The bytes are already in the temp file when fsync fails: a half-finished write.
        monkeypatch.setattr(os, "fsync", failing(os.fsync))
    else:
        monkeypatch.setattr(os, "replace", failing(os.replace))

    with pytest.raises(LibraryError, match="no space") as raised:
        lib.record(make_result(count=3))
    assert isinstance(raised.value.__cause__, OSError)
    monkeypatch.undo()
    assert _files(lib) == []
    assert _rows(lib, "runs") == 0 and _rows(lib, "images") == 0


def test_stale_temp_files_are_removed_on_open(tmp_path: Path) -> None:
    root = tmp_path / "library"
    (root / "2024-05-01").mkdir(parents=True)
    stale = root / "2024-05-01" / ".tmp-0123-crashed.png"
    stale.write_bytes(b"\x89PNG half")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    fresh = root / ".tmp-being-written.png"  # another process may be mid-write
    fresh.write_bytes(b"\x89PNG")

    with Library(root, tmp_path / "db.sqlite"):
        assert not stale.exists()
        assert fresh.exists()


def test_orphan_files_finds_pngs_without_rows(lib: Library) -> None:
    records = lib.record(make_result(count=1, init_image=Image.new("RGB", (64, 64))))
    assert lib.orphan_files() == []

    orphan = records[0].path.with_name("20240501-090000_deadbeef_0_1.png")
    orphan.write_bytes(records[0].path.read_bytes())
    (lib.root / ".tmp-x.png").write_bytes(b"")  # temp files are not orphans
    assert lib.orphan_files() == [orphan]
