"""The filter bar's "Hide live" box with real widgets over a real library: live mode's images
are hidden by default, the count says how many, and unticking shows them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from studio.library import Library
from studio.ui.gallery.filters import count_text
from studio.ui.gallery.pane import GalleryModel, GalleryPane
from studio.ui.gallery.thumbnails import ThumbnailCache
from tests.library.results import T0, make_result


@pytest.fixture
def thumbnails(tmp_path: Path, qapp) -> Iterator[ThumbnailCache]:
    cache = ThumbnailCache(tmp_path / "thumbs")
    yield cache
    cache.shutdown()


def _record(lib: Library, prompt: str, minute: int, *, live: bool = False) -> None:
    lib.record(make_result(prompt, count=1, seed=minute,
                           created_at=T0 + timedelta(minutes=minute)), live=live)


@pytest.fixture
def pane(qtbot, lib: Library, thumbnails: ThumbnailCache) -> GalleryPane:
    _record(lib, "a plain mug", 0)
    _record(lib, "a live mug", 1, live=True)
    _record(lib, "a live vase", 2, live=True)
    _record(lib, "a plain vase", 3)
    gallery = GalleryPane(lib, thumbnails)
    qtbot.addWidget(gallery)
    gallery.show()
    return gallery


def _prompts(model: GalleryModel) -> list[str]:
    return [model.record_at(row).prompt for row in range(model.rowCount())]


def test_count_text_names_the_hidden_live_images() -> None:
    assert count_text(5) == "5 images"
    assert count_text(1, 1) == "1 image · 1 live image hidden"
    assert count_text(2_000, 12) == "2,000 images · 12 live images hidden"


def test_live_images_are_hidden_by_default_and_counted(pane: GalleryPane) -> None:
    assert pane.filter_bar.hide_live.isChecked()
    assert _prompts(pane.model) == ["a plain vase", "a plain mug"]
    assert pane.filter_bar.count_label.text() == "2 images · 2 live images hidden"


def test_unticking_shows_them_and_ticking_hides_them_again(pane: GalleryPane) -> None:
    pane.filter_bar.hide_live.setChecked(False)
    assert _prompts(pane.model) == ["a plain vase", "a live vase", "a live mug", "a plain mug"]
    assert pane.filter_bar.count_label.text() == "4 images"
    pane.filter_bar.hide_live.setChecked(True)
    assert _prompts(pane.model) == ["a plain vase", "a plain mug"]


def test_the_hidden_count_follows_the_other_filters(pane: GalleryPane) -> None:
    pane.filter_bar.search.setText("vase")
    pane.filter_bar.flush()
    assert _prompts(pane.model) == ["a plain vase"]
    assert pane.filter_bar.count_label.text() == "1 image · 1 live image hidden"
    pane.show_ids([pane.model.record_at(0).id], "a batch")
    assert pane.filter_bar.count_label.text() == "1 image"


def test_a_new_live_image_stays_hidden_and_the_count_grows(qtbot, pane: GalleryPane,
                                                          lib: Library) -> None:
    _record(lib, "typed just now", 4, live=True)
    qtbot.waitUntil(lambda: pane.filter_bar.count_label.text()
                    == "2 images · 3 live images hidden")
    assert _prompts(pane.model) == ["a plain vase", "a plain mug"]
    _record(lib, "generated just now", 5)
    qtbot.waitUntil(lambda: _prompts(pane.model)[0] == "generated just now")
    assert pane.filter_bar.count_label.text() == "3 images · 3 live images hidden"
    pane.filter_bar.hide_live.setChecked(False)
    _record(lib, "typed again", 6, live=True)
    qtbot.waitUntil(lambda: _prompts(pane.model)[0] == "typed again")
    assert pane.filter_bar.count_label.text() == "7 images"
