"""The ledger of attempts that may have been billed without an image, and today's spending."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from studio.costs.lost_attempts import LostAttempts
from studio.costs.spending import SpendingGuard, start_of_day, today_totals
from studio.library import Library


def test_nothing_is_written_until_an_attempt_is_lost(studio_home: Path) -> None:
    ledger = LostAttempts()
    assert ledger.usd_since(start_of_day()) == 0 and not ledger.db_path.exists()
    ledger.record(0.02, "sagemaker", "read timeout")
    assert ledger.db_path == studio_home / "spending.db" and ledger.db_path.is_file()


def test_today_counts_todays_lost_attempts_only(tmp_path: Path) -> None:
    ledger = LostAttempts(tmp_path / "spending.db")
    ledger.record(0.5, "bedrock", "yesterday", when=datetime.now(UTC) - timedelta(days=2))
    ledger.record(0.25, "sagemaker", "a reset after sending")
    ledger.record(0.25, "sagemaker", "a read timeout")
    assert ledger.usd_since(start_of_day()) == pytest.approx(0.5)
    assert ledger.count_since(start_of_day()) == 2
    with Library.open(tmp_path / "library") as library:
        assert today_totals(library, lost=ledger).usd == pytest.approx(0.5)
        guard = SpendingGuard(lambda: library, lambda: 1.0, lost=ledger)
        assert guard.spent_today() == pytest.approx(0.5)


def test_reasons_are_stored_without_secrets(tmp_path: Path) -> None:
    import sqlite3

    ledger = LostAttempts(tmp_path / "spending.db")
    ledger.record(0.1, "sagemaker", "echo Credential=AKIAIOSFODNN7EXAMPLE/2026 failed")
    with sqlite3.connect(ledger.db_path) as conn:
        (reason,) = conn.execute("SELECT reason FROM lost_attempts").fetchone()
    assert "AKIAIOSFODNN7EXAMPLE" not in reason and "[REDACTED]" in reason
