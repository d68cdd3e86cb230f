from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtGui import QPixmap

from backends.types import Cost, Timings
from studio.library import Library
from studio.ui.gallery.filters import (
    CUSTOM_RANGE,
    LAST_7_DAYS,
    TODAY,
    count_text,
    date_range,
)
from studio.ui.gallery.pane import (
    GalleryModel,
    GalleryPane,
    RecordRole,
    cost_badge,
    latency_badge,
)
from studio.ui.gallery.thumbnails import ThumbnailCache
from tests.ui.gallery.data import T0, Row, insert_rows
from tests.ui.record_factory import record_image


@pytest.fixture
def thumbnails(tmp_path: Path, qapp) -> Iterator[ThumbnailCache]:
    cache = ThumbnailCache(tmp_path / "thumbs")
    yield cache
    cache.shutdown()


ROWS = [
    Row("red leather handbag", total_s=2.04, cost_usd=0.0031),
    Row("blue running shoes", backend="sagemaker", model="sdxl", total_s=12.4, cost_usd=0.04,
        estimated=True),
    Row("green ceramic mug", total_s=0.84, cost_usd=0.00002, favourite=True),
]


@pytest.fixture
def pane(qtbot, lib: Library, thumbnails: ThumbnailCache) -> GalleryPane:
    insert_rows(lib, ROWS)
    gallery = GalleryPane(lib, thumbnails)
    qtbot.addWidget(gallery)
    gallery.resize(900, 600)
    gallery.show()
    return gallery


def _prompts(model: GalleryModel) -> list[str]:
    return [model.record_at(row).prompt for row in range(model.rowCount())]


def _record(total_s: float = 1.0, usd: float = 0.0, estimated: bool = False):
    from studio.library import ImageRecord

    return ImageRecord(
        id=1, run_id="r", path=Path("x.png"), seed=1, width=8, height=8, sha256="0",
        favourite=False, created_at=T0, prompt="p", negative_prompt="", model="m",
        backend="local", device="cpu", mode="txt2img", timings=Timings(total_s=total_s),
        cost=Cost(usd, "", estimated), estimate=None, request={},
    )


@pytest.mark.parametrize(("seconds", "text"), [
    (0.0, "0.0 s"), (0.84, "0.8 s"), (3.2, "3.2 s"), (12.4, "12 s"), (125.0, "2 m 05 s"),
])
def test_latency_badge(seconds: float, text: str) -> None:
    assert latency_badge(_record(total_s=seconds)) == text


@pytest.mark.parametrize(("usd", "estimated", "text"), [
    (0.0, False, "$0.00"), (0.00002, False, "<$0.0001"), (0.0031, False, "$0.0031"),
    (0.0031, True, "~$0.0031"), (0.04, False, "$0.04"), (0.1, False, "$0.10"),
    (0.12345, False, "$0.12"), (1.5, False, "$1.50"), (1234.5, True, "~$1,234.50"),
])
def test_cost_badge(usd: float, estimated: bool, text: str) -> None:
    assert cost_badge(_record(usd=usd, estimated=estimated)) == text


def test_tiles_newest_first_with_badges(qtbot, pane: GalleryPane) -> None:
    model = pane.model
    assert _prompts(model) == ["green ceramic mug", "blue running shoes", "red leather handbag"]
    assert model.index(0).data(Qt.ItemDataRole.DisplayRole) == "green ceramic mug"
    badges = [(latency_badge(r), cost_badge(r), r.favourite) for r in model.records()]
    assert badges == [("0.8 s", "<$0.0001", True), ("12 s", "~$0.04", False),
                      ("2.0 s", "$0.0031", False)]
    assert pane.filter_bar.count_label.text() == "3 images"
    assert not pane.grab().isNull()  # the delegate paints placeholders and badges


def test_thumbnails_arrive_and_the_model_says_so(qtbot, pane: GalleryPane) -> None:
    model = pane.model
    rows: set[int] = set()
    model.dataChanged.connect(lambda top, bottom, roles=(): rows.add(top.row()))
    qtbot.waitUntil(lambda: all(
        isinstance(model.index(row).data(Qt.ItemDataRole.DecorationRole), QPixmap)
        for row in range(model.rowCount())
    ))
    assert rows == {0, 1, 2}
    assert not pane.grab().isNull()  # and paints them


def test_search_filters_rows(qtbot, pane: GalleryPane) -> None:
    resets: list[int] = []
    pane.model.modelReset.connect(lambda: resets.append(1))
    qtbot.keyClicks(pane.filter_bar.search, "mug")
    qtbot.waitUntil(lambda: _prompts(pane.model) == ["green ceramic mug"])
    assert len(resets) == 1  # typing three letters searched once
    assert pane.filter_bar.count_label.text() == "1 image"
    pane.filter_bar.search.setText("shoe")  # stemmed prefix search
    pane.filter_bar.flush()
    assert _prompts(pane.model) == ["blue running shoes"]
    pane.filter_bar.search.clear()
    pane.filter_bar.flush()
    assert len(_prompts(pane.model)) == 3


def test_backend_model_favourite_and_date_filters(qtbot, pane: GalleryPane) -> None:
    bar = pane.filter_bar
    assert [bar.backend_box.itemText(i) for i in range(bar.backend_box.count())] == [
        "All backends", "local", "sagemaker"]
    bar.backend_box.setCurrentIndex(bar.backend_box.findData("sagemaker"))
    assert _prompts(pane.model) == ["blue running shoes"]
    bar.backend_box.setCurrentIndex(0)
    bar.model_box.setCurrentIndex(bar.model_box.findData("sd-turbo"))
    assert _prompts(pane.model) == ["green ceramic mug", "red leather handbag"]
    bar.favourites.setChecked(True)
    assert _prompts(pane.model) == ["green ceramic mug"]
    bar.favourites.setChecked(False)
    bar.model_box.setCurrentIndex(0)

    bar.date_box.setCurrentText(CUSTOM_RANGE)
    assert bar.first_day.isVisible()
    local_day = (T0 + timedelta(minutes=1)).astimezone().date()
    bar.first_day.setDate(local_day)
    bar.last_day.setDate(local_day)
    assert len(_prompts(pane.model)) == 3  # all made on that (local) day
    bar.first_day.setDate(local_day + timedelta(days=1))
    bar.last_day.setDate(local_day + timedelta(days=2))
    assert _prompts(pane.model) == [] and bar.count_label.text() == "0 images"


def test_date_range_choices() -> None:
    today = date(2024, 5, 10)
    assert date_range(TODAY, today) == (datetime(2024, 5, 10), None)
    assert date_range(LAST_7_DAYS, today) == (datetime(2024, 5, 4), None)
    assert date_range(CUSTOM_RANGE, today, date(2024, 5, 3), date(2024, 5, 1)) == (
        datetime(2024, 5, 1), datetime(2024, 5, 4))
    assert count_text(1234) == "1,234 images"


def test_paging_fetches_more_when_scrolled(qtbot, lib: Library,
                                           thumbnails: ThumbnailCache) -> None:
    insert_rows(lib, [Row(prompt=f"shoe {n}") for n in range(600)])
    gallery = GalleryPane(lib, thumbnails)
    qtbot.addWidget(gallery)
    gallery.resize(900, 600)
    gallery.show()
    model, view = gallery.model, gallery.view
    assert model.rowCount() == 200 and model.canFetchMore()
    assert gallery.filter_bar.count_label.text() == "600 images"
    for loaded in (400, 600):
        # Batched layout grows the scroll range in steps: keep scrolling until a page comes.
        qtbot.waitUntil(lambda loaded=loaded: (view.scrollToBottom(), model.rowCount())[1]
                        == loaded)
    assert not model.canFetchMore()
    ids = [model.record_at(row).id for row in range(600)]
    assert ids == [r.id for r in lib.search(limit=-1)]  # newest first, none twice


def test_prepend_adds_fresh_images_on_top_without_a_reset(
    qtbot, pane: GalleryPane, lib: Library
) -> None:
    resets: list[int] = []
    pane.model.modelReset.connect(lambda: resets.append(1))
    insert_rows(lib, [Row("yellow rain boots", backend="bedrock", model="titan")],
                start=T0 + timedelta(hours=1))
    fresh = lib.search("boots")
    pane.add_records(fresh)
    assert _prompts(pane.model)[0] == "yellow rain boots" and resets == []
    assert pane.filter_bar.count_label.text() == "4 images"
    assert pane.filter_bar.backend_box.findData("bedrock") > 0  # the choices learnt it
    pane.add_records(fresh)  # twice is once
    assert len(_prompts(pane.model)) == 4


def test_prepend_respects_the_filters(qtbot, pane: GalleryPane, lib: Library) -> None:
    pane.filter_bar.search.setText("mug")
    pane.filter_bar.flush()
    insert_rows(lib, [Row("shoe box"), Row("tall mug")], start=T0 + timedelta(hours=1))
    pane.add_records(lib.search(since=T0 + timedelta(minutes=30)))
    assert _prompts(pane.model) == ["tall mug", "green ceramic mug"]


def test_remove_and_update(qtbot, pane: GalleryPane, lib: Library) -> None:
    model = pane.model
    first = model.record_at(0)
    changed: list[int] = []
    model.dataChanged.connect(lambda top, bottom, roles=(): changed.append(top.row()))
    favourite = dataclasses.replace(model.record_at(1), favourite=True)
    pane.update_record(favourite)
    assert model.record_at(1).favourite and 1 in changed
    assert model.index(1).data(RecordRole) == favourite

    lib.delete(first.id)
    pane.remove(first.id)
    assert first.id not in [r.id for r in model.records()]
    assert model.rowCount() == 2 and pane.filter_bar.count_label.text() == "2 images"
    pane.remove(first.id)  # already gone: nothing happens
    assert model.rowCount() == 2


def test_selection_keeps_pick_order_and_activation(qtbot, pane: GalleryPane) -> None:
    model, view = pane.model, pane.view
    seen: list[list[int]] = []
    pane.selection_changed.connect(lambda records: seen.append([r.id for r in records]))
    view.selectionModel().select(model.index(2), QItemSelectionModel.SelectionFlag.Select)
    view.selectionModel().select(model.index(0), QItemSelectionModel.SelectionFlag.Select)
    expected = [model.record_at(2).id, model.record_at(0).id]
    assert seen[-1] == expected
    assert [r.id for r in pane.selected_records()] == expected

    view.setFocus()
    view.setCurrentIndex(model.index(1))
    with qtbot.waitSignal(pane.activated_record) as activated:
        qtbot.keyClick(view, Qt.Key.Key_Return)
    assert activated.args[0].id == model.record_at(1).id

    pane.filter_bar.search.setText("mug")
    pane.filter_bar.flush()
    assert pane.selected_records() == [] and seen[-1] == []


def test_set_library_switches_everything(qtbot, pane: GalleryPane, tmp_path: Path) -> None:
    other = Library.open(tmp_path / "other")
    try:
        insert_rows(other, [Row("only here", backend="bedrock")],
                    start=datetime(2024, 1, 1, tzinfo=UTC))
        bar = pane.filter_bar
        bar.backend_box.setCurrentIndex(bar.backend_box.findData("sagemaker"))
        # What Settings does through the window's notifier; the chosen backend is not in
        # the other library: back to all backends.
        pane.notifier.attach(other)
        assert bar.backend_box.currentData() is None
        assert _prompts(pane.model) == ["only here"]
        assert pane.filter_bar.backend_box.findData("sagemaker") == -1
        assert pane.filter_bar.count_label.text() == "1 image"
        record_image(other, "recorded there")
        assert _prompts(pane.model) == ["recorded there", "only here"]
    finally:
        pane.notifier.detach()
        other.close()


# --- following the library -----------------------------------------------------------------


def test_an_image_recorded_anywhere_appears(qtbot, pane: GalleryPane, lib: Library) -> None:
    resets: list[int] = []
    pane.model.modelReset.connect(lambda: resets.append(1))
    record_image(lib, "straight into the library", backend="bedrock", model="titan")
    assert _prompts(pane.model)[0] == "straight into the library" and resets == []
    assert pane.filter_bar.count_label.text() == "4 images"
    assert pane.filter_bar.backend_box.findData("bedrock") > 0

    worker = threading.Thread(target=lambda: record_image(lib, "from a worker thread"))
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: _prompts(pane.model)[0] == "from a worker thread")


def test_an_image_recorded_anywhere_respects_the_filters(pane: GalleryPane,
                                                         lib: Library) -> None:
    pane.filter_bar.search.setText("mug")
    pane.filter_bar.flush()
    record_image(lib, "a shoe box")
    record_image(lib, "a tall mug")
    assert _prompts(pane.model) == ["a tall mug", "green ceramic mug"]


def test_favourites_and_deletions_made_anywhere_show(pane: GalleryPane, lib: Library) -> None:
    model = pane.model
    mug, shoes, bag = model.records()
    lib.set_favourite(shoes.id, True)
    assert model.record_at(1).favourite and model.record_at(1).id == shoes.id
    lib.delete(bag.id)
    assert [r.id for r in model.records()] == [mug.id, shoes.id]
    assert pane.filter_bar.count_label.text() == "2 images"
