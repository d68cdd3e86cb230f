from __future__ import annotations

import dataclasses
import io
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtGui import QPixmap

from studio.library import Library
from studio.ui.gallery import thumbnails as thumbnails_module
from studio.ui.gallery.thumbnails import ThumbnailCache, render_thumbnail
from tests.ui.gallery.data import Row, insert_rows, tiny_png


@pytest.fixture
def cache(tmp_path: Path, qapp) -> Iterator[ThumbnailCache]:
    thumbs = ThumbnailCache(tmp_path / "thumbs")
    yield thumbs
    thumbs.shutdown()


def _png(size: tuple[int, int], mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, (10, 120, 200, 128)[: len(mode)]).save(buffer, format="PNG")
    return buffer.getvalue()


def _load(qtbot, cache: ThumbnailCache, record) -> QPixmap | None:
    if (pixmap := cache.get(record)) is not None:
        return pixmap
    with qtbot.waitSignal(cache.ready, check_params_cb=lambda image_id: image_id == record.id):
        assert cache.get(record) is None
    return cache.get(record)


def test_render_thumbnail_fits_and_flattens(tmp_path: Path) -> None:
    source = tmp_path / "wide.png"
    source.write_bytes(_png((1000, 500), "RGBA"))
    with Image.open(io.BytesIO(render_thumbnail(source, 256))) as thumb:
        assert (thumb.format, thumb.mode, thumb.size) == ("JPEG", "RGB", (256, 128))
    small = tmp_path / "small.png"
    small.write_bytes(tiny_png(size=(20, 10)))
    with Image.open(io.BytesIO(render_thumbnail(small, 256))) as thumb:
        assert thumb.size == (20, 10)  # never enlarged


def test_thumbnail_loads_in_the_background_and_lands_on_disk(
    qtbot, lib: Library, cache: ThumbnailCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    insert_rows(lib, [Row()], png=_png((600, 300)))
    record = lib.search()[0]
    threads: list[threading.Thread] = []
    real_render = thumbnails_module.render_thumbnail

    def render(source: Path, size: int) -> bytes:
        threads.append(threading.current_thread())
        return real_render(source, size)

    monkeypatch.setattr(thumbnails_module, "render_thumbnail", render)
    assert cache.get(record) is None
    pixmap = _load(qtbot, cache, record)
    # Kept in memory at tile size; on disk at the thumbnail size.
    assert (pixmap.width(), pixmap.height()) == (cache.display_size, cache.display_size // 2)
    assert threads and threading.main_thread() not in threads
    with Image.open(cache.folder / f"{record.sha256}.jpg") as on_disk:
        assert on_disk.size == (256, 128)
    assert not list(cache.folder.glob(".tmp-*"))
    again = cache.get(record)  # from memory now
    assert again is not None and again.cacheKey() == pixmap.cacheKey()


def test_disk_cache_is_reused_by_a_new_instance(
    qtbot, tmp_path: Path, lib: Library, cache: ThumbnailCache
) -> None:
    insert_rows(lib, [Row()], png=_png((300, 300)))
    record = lib.search()[0]
    _load(qtbot, cache, record)
    record.path.unlink()  # only the disk cache can answer now

    again = ThumbnailCache(cache.folder)
    try:
        pixmap = _load(qtbot, again, record)
        assert pixmap is not None and pixmap.width() == again.display_size
        assert not again.failed(record)
    finally:
        again.shutdown()


def test_missing_file_fails_once_and_is_not_retried(
    qtbot, lib: Library, cache: ThumbnailCache
) -> None:
    insert_rows(lib, [Row()])
    record = lib.search()[0]
    record.path.unlink()
    assert _load(qtbot, cache, record) is None
    assert cache.failed(record)
    assert cache.get(record) is None and cache.pending() == 0


def test_images_sharing_a_hash_share_one_thumbnail(
    qtbot, lib: Library, cache: ThumbnailCache
) -> None:
    insert_rows(lib, [Row(), Row()])
    first, second = lib.search()
    twin = dataclasses.replace(second, sha256=first.sha256)
    with qtbot.waitSignals([cache.ready, cache.ready], check_params_cbs=[
        lambda image_id: image_id == first.id, lambda image_id: image_id == twin.id,
    ], order="none"):
        cache.get(first)
        cache.get(twin)
    assert cache.memory_usage()[0] == 1


def test_memory_is_bounded_least_recently_used_first(
    qtbot, tmp_path: Path, lib: Library
) -> None:
    insert_rows(lib, [Row(prompt=f"p{n}") for n in range(4)])
    records = lib.search()
    small = ThumbnailCache(tmp_path / "thumbs", max_items=2)
    try:
        for record in records[:3]:
            _load(qtbot, small, record)
        assert small.memory_usage()[0] == 2
        assert small.get(records[0]) is None  # evicted first; reloads from disk
        _load(qtbot, small, records[0])
        pixmap = small.get(records[0])
        assert pixmap is not None
        count, size = small.memory_usage()
        assert count == 2 and size == 2 * pixmap.width() * pixmap.height() * pixmap.depth() // 8
    finally:
        small.shutdown()


def test_forget_drops_memory_and_disk(qtbot, lib: Library, cache: ThumbnailCache) -> None:
    insert_rows(lib, [Row()])
    record = lib.search()[0]
    _load(qtbot, cache, record)
    cache.forget(record)
    assert cache.memory_usage() == (0, 0)
    assert not (cache.folder / f"{record.sha256}.jpg").exists()


def test_default_folder_is_under_studio_home(qapp, studio_home: Path) -> None:
    cache = ThumbnailCache()
    try:
        assert cache.folder == studio_home / "thumbnails"
    finally:
        cache.shutdown()
