"""Honest numbers in the loupe: each image's own share of its run, and the estimate's error
only where it means something."""

from __future__ import annotations

from backends.types import Cost, Timings
from studio.library import Library
from studio.ui.gallery.delegate import latency_badge
from studio.ui.loupe.detail_panel import DetailPanel
from tests.ui.record_factory import record_images


def test_each_of_four_variations_shows_its_own_share(panel: DetailPanel, lib: Library) -> None:
    records = record_images(lib, count=4, timings=Timings(inference_s=4.0, total_s=4.8))
    for record in records:
        panel.show_record(record)
        label = panel.info.value_labels["per_image"]
        assert label.isVisible() and label.text() == "1.20 s each · 4.80 s run"
        assert latency_badge(record) == "1.2 s · 4.8 s run"
    assert panel.info.value_labels["total"].text() == "4.80 s"  # the run's, labelled as such


def test_a_single_image_run_needs_no_share_line(panel: DetailPanel, lib: Library) -> None:
    record = record_images(lib, count=1, timings=Timings(total_s=2.5))[0]
    panel.show_record(record)
    assert panel.info.value_labels["per_image"].isHidden()
    assert latency_badge(record) == "2.5 s"


def test_the_issue_case_shows_no_absurd_percentage(panel: DetailPanel, lib: Library) -> None:
    guess = "Energy for a guessed 0.0 s × 300 W (typical cuda) × $0.170/kWh (no run measured yet)"
    record = record_images(lib, cost=Cost(1.46e-5, "Energy for 61.2 s × 65 W", False),
                           estimate=Cost(1e-8, guess))[0]
    panel.show_record(record)
    text = panel.info.value_labels["estimate"].text()
    assert "%" not in text and "$0.00000001" not in text
    assert text.startswith("Estimated before the run: < $0.0001")
    assert panel.info.value_labels["cost"].text() == "< $0.0001 per image (measured)"


def test_a_measured_estimate_still_reports_its_error(panel: DetailPanel, lib: Library) -> None:
    record = record_images(lib, cost=Cost(0.012, "Energy for 61 s", False),
                           estimate=Cost(0.010, "Energy for about 50 s × 65 W"))[0]
    panel.show_record(record)
    assert "(actual +20%)" in panel.info.value_labels["estimate"].text()
