"""`studio history`: a table with the prompts, fitted to the terminal; --json as before."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from studio.cli.main import main
from studio.library import Library
from studio.settings.values import load_settings
from tests.library.results import make_result

LONG = ("a walnut desk organiser with brass pen holders on a sunlit oak table, soft morning "
        "light through linen curtains, shallow depth of field, editorial product photo")


@pytest.fixture
def library() -> Library:
    library = Library.open(load_settings().library_path())
    library.record(make_result(LONG, count=2, seed=11, total_s=3.0, usd=0.04,
                               created_at=datetime(2024, 5, 1, 9, 0, tzinfo=UTC)))
    library.record(make_result("red mug", count=1, seed=7, model="sdxl", total_s=1.25,
                               usd=0.00002, created_at=datetime(2024, 5, 2, 9, 0, tzinfo=UTC)))
    return library


def test_history_is_a_table_with_the_prompts(library: Library, monkeypatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COLUMNS", "300")
    assert main(["history"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["id", "date", "prompt", "model", "seed", "latency", "cost"]
    newest = lines[1].split()
    assert newest[0] == "3" and newest[3:5] == ["red", "mug"]
    assert newest[5:] == ["sdxl", "7", "1.25", "s", "<", "$0.0001"]
    assert LONG in lines[2]  # wide enough: the whole prompt
    # Two images in a 3 s run: each image's share is 1.50 s, and half of $0.04.
    assert lines[2].endswith("12   1.50 s      $0.02")
    assert lines[3].endswith("11   1.50 s      $0.02")


@pytest.mark.parametrize("columns", [80, 100, 60])
def test_long_prompts_are_elided_to_the_terminal_width(library: Library, monkeypatch,
                                                       capsys: pytest.CaptureFixture[str],
                                                       columns: int) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    assert main(["history"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4
    if columns >= 80:
        assert all(len(line) <= columns for line in lines)
        assert max(len(line) for line in lines) == columns  # the prompt takes what is left
    # Narrower than the other columns need: the prompt keeps a readable minimum.
    assert "…" in lines[2] and "a walnut de" in lines[2]
    assert lines[2].endswith("$0.02")


def test_history_json_is_unchanged_and_has_the_prompt(library: Library,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "--json", "--limit", "1"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    data = json.loads(line)
    assert data["prompt"] == "red mug" and data["seed"] == 7 and data["model"] == "sdxl"
    assert data["latency_s"] == 1.25 and data["cost_usd"] == pytest.approx(0.00002)


def test_empty_history_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == "History is empty.\n"


def test_live_and_no_live_choose_live_modes_images(library: Library,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    library.record(make_result("typed live", count=1, seed=5), live=True)
    capsys.readouterr()

    def prompts(*flags: str) -> list[str]:
        assert main(["history", "--json", *flags]) == 0
        return [json.loads(line)["prompt"] for line in capsys.readouterr().out.splitlines()]

    assert "typed live" in prompts() and len(prompts()) == 4
    assert prompts("--live") == ["typed live"]
    assert "typed live" not in prompts("--no-live") and len(prompts("--no-live")) == 3
