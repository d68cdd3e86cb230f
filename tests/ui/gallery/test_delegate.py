"""The tile's badges: each image's own latency share, money in the one wording, and both
badges side by side inside a tile."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QListView

from backends.types import Cost, Timings
from studio.library import ImageRecord
from studio.ui.gallery.delegate import TILE_SIZE, GalleryDelegate, cost_badge, latency_badge
from tests.ui.gallery.data import T0


def _record(total_s: float = 1.0, usd: float = 0.0, estimated: bool = False,
            count: int = 1) -> ImageRecord:
    return ImageRecord(
        id=1, run_id="r", path=Path("x.png"), seed=1, width=8, height=8, sha256="0",
        favourite=False, created_at=T0, prompt="p", negative_prompt="", model="m",
        backend="local", device="cpu", mode="txt2img", timings=Timings(total_s=total_s),
        cost=Cost(usd, "", estimated), estimate=None, request={"count": count},
    )


@pytest.mark.parametrize(("seconds", "count", "text"), [
    (0.84, 1, "0.8 s"), (4.8, 4, "1.2 s · 4.8 s run"), (125.0, 1, "2 m 05 s"),
    (125.0, 5, "25 s · 2 m 05 s run"), (3.0, 0, "3.0 s"),
])
def test_latency_is_the_images_own_share(seconds: float, count: int, text: str) -> None:
    assert latency_badge(_record(total_s=seconds, count=count)) == text


@pytest.mark.parametrize(("usd", "estimated", "text"), [
    (1e-8, True, "<$0.0001"), (0.0031, False, "$0.0031"), (0.018, True, "~$0.018"),
    (0.12345, False, "$0.12"),
])
def test_cost_badges_use_the_one_money_wording(usd: float, estimated: bool, text: str) -> None:
    assert cost_badge(_record(usd=usd, estimated=estimated)) == text


@pytest.mark.parametrize(("record", "left_text"), [
    (_record(total_s=4.8, usd=0.0031, estimated=True, count=4), "1.2 s · 4.8 s run"),
    (_record(total_s=125.0, usd=1234.5, estimated=True, count=4), "31 s"),
])
def test_badges_fit_side_by_side_in_a_tile(qtbot, record: ImageRecord, left_text: str) -> None:
    view = QListView()
    qtbot.addWidget(view)
    delegate = GalleryDelegate(view)
    width = TILE_SIZE - 8
    left, right = delegate.tile_badges(record, view.font(), 1.0, width)
    assert left.width() + right.width() < width
    assert left.toImage() == delegate.badge(left_text, QColor("white"), view.font(),
                                            1.0).toImage()
