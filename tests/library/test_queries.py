"""Reading the history: full-text search, filters, keyset paging, recall and totals."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from typing import Any

import pytest

from studio.library import Library
from studio.library.queries import fts_query
from tests.library.results import T0, make_result


def test_search_full_text_newest_first(filled: Library) -> None:
    assert [r.prompt for r in filled.search()] == [
        "green ceramic mug",
        "blue running shoes, studio light",
        "blue running shoes, studio light",
        "red leather handbag",
    ]
    assert {r.prompt for r in filled.search("handbag")} == {"red leather handbag"}
    assert len(filled.search("shoe")) == 2  # stemmed and prefix: "shoe" finds "shoes"
    assert len(filled.search("stud lig")) == 2  # each word is a prefix
    assert {r.prompt for r in filled.search("watermark")} == {"green ceramic mug"}
    assert filled.search("red mug") == []  # every word must match
    assert filled.search("nothing-like-this") == []


@pytest.mark.parametrize(
    "text", ['"foo', "a AND (", "NEAR(", "*", "-", '""', "shoe OR", "col:umn", "^x", "'; DROP"]
)
def test_search_accepts_any_text(filled: Library, text: str) -> None:
    filled.search(text)
    filled.count(text)


def test_search_filters_and_paging(filled: Library) -> None:
    assert filled.count() == 4
    assert filled.count(backend="sagemaker") == 2
    assert {r.model for r in filled.search(model="sd-turbo")} == {"sd-turbo"}
    assert filled.count("shoes", backend="local") == 0
    assert filled.count(since=T0 + timedelta(hours=1)) == 3
    assert filled.count(until=T0 + timedelta(hours=1)) == 1
    assert filled.count(since=T0 + timedelta(minutes=30), until=T0 + timedelta(hours=2)) == 2

    everything = filled.search()
    pages = [filled.search(limit=3, offset=0), filled.search(limit=3, offset=3)]
    assert [r.id for r in pages[0] + pages[1]] == [r.id for r in everything]
    assert len(pages[1]) == 1

    assert filled.distinct_models() == ["sd-turbo", "sdxl"]
    assert filled.distinct_backends() == ["local", "sagemaker"]


def test_totals(filled: Library) -> None:
    totals = filled.totals()
    assert totals.images == 4
    assert totals.seconds == pytest.approx(8.5)
    assert totals.usd == pytest.approx(0.11)
    since = filled.totals(since=T0 + timedelta(minutes=30))
    assert (since.images, since.seconds, since.usd) == (3, pytest.approx(6.5), pytest.approx(0.1))


# --- paging and recall ----------------------------------------------------------------------


def _pages(lib: Library, limit: int, **filters: Any) -> list[int]:
    ids: list[int] = []
    page = lib.search(limit=limit, **filters)
    while page:
        ids += [r.id for r in page]
        page = lib.search(limit=limit, after=page[-1], **filters)
    return ids


@pytest.mark.parametrize(
    "filters",
    [{}, {"backend": "local"}, {"text": "blue"}, {"model": "sdxl"}, {"favourites_only": True},
     {"text": "green", "backend": "local", "since": T0}],
)
@pytest.mark.parametrize("limit", [1, 2, 50])
def test_keyset_pages_match_one_search(filled: Library, filters: dict, limit: int) -> None:
    # Small limits take the images-first plan, large ones the runs-first plan: same answer.
    filled.set_favourite(filled.search("mug")[0].id, True)
    assert _pages(filled, limit, **filters) == [r.id for r in filled.search(limit=-1, **filters)]


def test_keyset_breaks_ties_on_id(filled: Library) -> None:
    same_moment = filled.search("shoes")  # one run: two images with one created_at
    assert same_moment[0].created_at == same_moment[1].created_at
    assert same_moment[0].id > same_moment[1].id
    assert filled.search("shoes", after=same_moment[0]) == [same_moment[1]]


def test_search_by_ids(filled: Library) -> None:
    wanted = [r.id for r in filled.search("shoes")]
    other = filled.search("mug")[0].id
    assert [r.id for r in filled.search(ids=[*wanted, other, 999_999])] == [other, *wanted]
    assert [r.id for r in filled.search("shoes", ids=[other, wanted[1]])] == [wanted[1]]
    assert filled.search(ids=[]) == []


def test_recent_prompts_distinct_newest_first(filled: Library) -> None:
    filled.record(make_result("red leather handbag", count=1, created_at=T0 + timedelta(days=2)))
    assert filled.recent_prompts() == [
        "red leather handbag", "green ceramic mug", "blue running shoes, studio light",
    ]
    assert filled.recent_prompts(limit=2) == ["red leather handbag", "green ceramic mug"]
    assert filled.recent_prompts(limit=0) == []


def test_favourites_are_read_newest_first_from_an_index(filled: Library) -> None:
    with sqlite3.connect(filled.db_path) as conn:
        plan = " ".join(row[3] for row in conn.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM images WHERE favourite = 1 "
            "ORDER BY created_at DESC LIMIT 10"))
    assert "idx_images_favourite_created_at" in plan and "TEMP B-TREE" not in plan


@pytest.mark.parametrize(("text", "query"), [
    ("red shoe", '"red"* "shoe"*'),
    ('say "hi"', '"say"* """hi"""*'),
    ("- * ^ ()", ""),
    ("", ""),
])
def test_fts_query_quotes_every_word_as_a_prefix(text: str, query: str) -> None:
    assert fts_query(text) == query
