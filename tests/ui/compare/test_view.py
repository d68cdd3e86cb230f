from __future__ import annotations

import pytest
from PySide6.QtWidgets import QWidget

from backends.types import Cost, Timings
from studio.library import ImageRecord, Library
from studio.ui.compare.view import (
    CompareDialog,
    CompareView,
    compare_rows,
    compare_summary,
)
from tests.ui.record_factory import record_image


@pytest.fixture
def records(lib: Library) -> list[ImageRecord]:
    """Four runs of one prompt: a local model, a SageMaker one, a Bedrock one, another seed."""
    return [
        record_image(lib, model="sd-turbo", backend="local", device="cuda", seed=1,
                     timings=Timings(load_s=1.0, inference_s=3.0, decode_s=0.2, total_s=4.2),
                     cost=Cost(0.00004, "electricity: 300 W for 4.2 s", estimated=True)),
        record_image(lib, model="sdxl", backend="sagemaker", device="ml.inf2.xlarge", seed=1,
                     timings=Timings(network_s=0.4, inference_s=1.5, total_s=2.1),
                     cost=Cost(0.012, "ml.inf2.xlarge for 2.1 s", estimated=False)),
        record_image(lib, model="titan-image", backend="bedrock", device="bedrock", seed=1,
                     steps=50, timings=Timings(network_s=1.0, inference_s=5.0, total_s=6.0),
                     cost=Cost(0.04, "Bedrock price per image", estimated=False)),
        record_image(lib, model="sd-turbo", backend="local", device="cuda", seed=2,
                     timings=Timings(load_s=0.0, inference_s=3.0, decode_s=0.2, total_s=3.2),
                     cost=Cost(0.00004, "electricity: 300 W for 3.2 s", estimated=True)),
    ]


@pytest.fixture
def view(qtbot) -> CompareView:
    widget = CompareView()
    qtbot.addWidget(widget)
    widget.resize(1200, 800)
    widget.show()
    return widget


def _row(rows: list[tuple[str, list[str], bool]], label: str) -> tuple[list[str], bool]:
    found = {name: (values, differs) for name, values, differs in rows}
    return found[label]


def test_rows_flag_what_differs(records: list[ImageRecord]) -> None:
    rows = compare_rows(records[:2])
    assert _row(rows, "Model") == (["sd-turbo", "sdxl"], True)
    assert _row(rows, "Backend") == (["local", "sagemaker"], True)
    assert _row(rows, "Device") == (["cuda", "ml.inf2.xlarge"], True)
    assert _row(rows, "Seed") == (["1", "1"], False)
    assert _row(rows, "Steps") == (["30", "30"], False)
    assert _row(rows, "CFG scale") == (["7", "7"], False)
    assert _row(rows, "Sampler") == (["Euler a", "Euler a"], False)
    assert _row(rows, "Size") == (["96×64", "96×64"], False)
    assert _row(rows, "Prompt") == (["a red sneaker on white"] * 2, False)
    assert _row(rows, "Latency") == (["4.20 s", "2.10 s"], True)
    assert _row(rows, "Network") == (["0.00 s", "0.40 s"], True)
    assert _row(rows, "Inference") == (["3.00 s", "1.50 s"], True)
    assert _row(rows, "Cost") == (
        ["< $0.0001 per image (estimated)", "$0.012 per image (measured)"], True
    )
    assert _row(rows, "Cost basis") == (
        ["electricity: 300 W for 4.2 s", "ml.inf2.xlarge for 2.1 s"], True
    )
    labels = [label for label, _, _ in rows]
    assert "Queue" not in labels  # no run queued: the row would only say 0.00 s
    assert "Negative prompt" not in labels and "Strength" not in labels


def test_same_model_different_seed_differs_only_where_it_should(
    records: list[ImageRecord],
) -> None:
    rows = compare_rows([records[0], records[3]])
    differing = {label for label, _, differs in rows if differs}
    assert differing == {"Seed", "Latency", "Load", "Cost basis"}


def test_summary_names_fastest_and_cheapest(records: list[ImageRecord]) -> None:
    assert compare_summary(records[:3]) == (
        "Fastest: B (2.10 s, 2.9× quicker than the slowest) · Cheapest: A (< $0.0001 per image)"
    )
    assert compare_summary([records[0], records[3]]) == (
        "Fastest: B (3.20 s, 1.3× quicker than the slowest) · all cost < $0.0001 per image"
    )
    assert compare_summary([records[0], records[0]]).startswith("All took 4.20 s")


@pytest.mark.parametrize("count", [2, 3, 4])
def test_view_shows_two_to_four_columns(
    qtbot, view: CompareView, records: list[ImageRecord], count: int
) -> None:
    view.set_records(records[:count])
    assert view.column_count() == count
    assert [not column.isHidden() for column in view._columns] == [
        index < count for index in range(4)
    ]
    assert all(len(cells) == count for cells in view.cells.values())
    assert [cell.text() for cell in view.cells["Model"]] == [r.model for r in records[:count]]
    qtbot.waitUntil(
        lambda: all(v.image() is not None for v in view.image_views[:count]), timeout=5000
    )
    assert view.image_views[0].image().size().toTuple() == (96, 64)
    assert view.summary_label.text() == compare_summary(records[:count])


def test_view_highlights_differing_rows_and_badges_the_best(
    view: CompareView, records: list[ImageRecord]
) -> None:
    view.set_records(records[:3])
    assert view.row_labels["Model"].font().bold()
    assert all(cell.font().bold() for cell in view.cells["Model"])
    assert not view.row_labels["Seed"].font().bold()
    assert not any(cell.font().bold() for cell in view.cells["Seed"])

    badges = [(not c.badges["Fastest"].isHidden(), not c.badges["Cheapest"].isHidden())
              for c in view._columns[:3]]
    assert badges == [(False, True), (True, False), (False, False)]


@pytest.mark.parametrize("count", [0, 1, 5])
def test_wrong_counts_are_refused(
    view: CompareView, records: list[ImageRecord], lib: Library, count: int
) -> None:
    chosen = (records + [record_image(lib, seed=9)])[:count]
    with pytest.raises(ValueError, match="2 to 4 images"):
        compare_rows(chosen)
    view.set_records(records[:2])
    with pytest.raises(ValueError, match="2 to 4 images"):
        view.set_records(chosen)
    assert view.records() == records[:2]  # a refused set changes nothing
    with pytest.raises(ValueError, match="2 to 4 images"):
        CompareDialog(records=chosen)


def test_zoom_and_pan_follow_across_images(
    qtbot, view: CompareView, records: list[ImageRecord]
) -> None:
    view.set_records(records[:3])
    first, second, third, unused = view.image_views
    first.view_changed.emit(2.0, 0.25, 0.75)
    assert second.view_state() == third.view_state() == (2.0, 0.25, 0.75)
    assert unused.view_state() == (None, 0.5, 0.5)

    view.sync_check.setChecked(False)
    first.view_changed.emit(None, 0.5, 0.5)
    assert second.view_state() == (2.0, 0.25, 0.75)


def test_double_click_zooms_and_the_others_follow(
    qtbot, view: CompareView, records: list[ImageRecord]
) -> None:
    from PySide6.QtCore import QPoint, Qt

    view.set_records(records[:2])
    first, second = view.image_views[:2]
    qtbot.waitUntil(lambda: first.image() is not None, timeout=5000)
    qtbot.mouseDClick(first, Qt.MouseButton.LeftButton, pos=QPoint(first.width() // 2,
                                                                   first.height() // 2))
    assert first.view_state()[0] == 1.0
    assert second.view_state()[0] == 1.0


def test_dialog_is_non_modal(qtbot, records: list[ImageRecord]) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)
    dialog = CompareDialog(parent, records=records[:3])
    dialog.show()
    assert dialog.parent() is parent
    assert not dialog.isModal()
    assert dialog.windowTitle() == "Compare 3 images"
    assert dialog.view.column_count() == 3
    dialog.view.set_records(records[:2])  # through the view too, the title follows
    assert dialog.windowTitle() == "Compare 2 images"
    dialog.view.clear()
    assert dialog.windowTitle() == "Compare"
    assert dialog.view._stack.currentWidget() is dialog.view._empty
