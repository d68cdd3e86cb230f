"""What a kill mid-save leaves, put right when the library opens."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from studio.library import Library
from studio.library.orphans import ORPHANS_DIR, OrphanSweep, sort_orphans

# Records a two-image run and is killed (os._exit, as SIGKILL would) after the PNGs are
# renamed into place and before the rows commit.
KILLED_MID_SAVE = r"""
import os, sys
from studio.library import Library
from tests.library.results import make_result

library = Library(sys.argv[1], sys.argv[2])
def killed(*args, **kwargs):
    os._exit(137)
library._transaction = killed
library.record(make_result("a killed save", count=2, seed=7, usd=0.06, total_s=4.0))
"""


def age(path: Path, seconds: float = 3600) -> None:
    old = time.time() - seconds
    for file in [path] if path.is_file() else path.rglob("*"):
        os.utime(file, (old, old))


def killed_save(root: Path, db: Path) -> list[Path]:
    run = subprocess.run([sys.executable, "-c", KILLED_MID_SAVE, str(root), str(db)],
                         capture_output=True, text=True, timeout=60,
                         cwd=Path(__file__).parents[2])
    assert run.returncode == 137, run.stderr
    return sorted(root.rglob("*.png"))


def test_pngs_a_killed_save_left_are_reimported_with_their_cost(tmp_path: Path) -> None:
    root, db = tmp_path / "library", tmp_path / "studio.db"
    left = killed_save(root, db)
    assert len(left) == 2
    age(root)
    with Library(root, db) as library:
        sweep = library.last_sweep
        assert sorted(sweep.reimported) == [p.relative_to(root).as_posix() for p in left]
        assert (sweep.moved, sweep.foreign) == ((), ())
        records = library.search()
        assert sorted(r.seed for r in records) == [7, 8]
        assert {r.prompt for r in records} == {"a killed save"}
        assert sum(r.cost.usd for r in records) == pytest.approx(0.06)
        assert library.totals().seconds == pytest.approx(4.0)
        assert all(r.sha256 == hashlib.sha256(r.path.read_bytes()).hexdigest()
                   for r in records)
        assert library.orphan_files() == []
        assert "2 image(s) an interrupted save left" in sweep.summary()
    with Library(root, db) as again:
        assert again.last_sweep == OrphanSweep()
        assert again.count() == 2


def test_a_fresh_orphan_is_left_for_the_process_that_may_be_committing_it(
        tmp_path: Path) -> None:
    root, db = tmp_path / "library", tmp_path / "studio.db"
    killed_save(root, db)
    with Library(root, db) as library:
        assert library.last_sweep == OrphanSweep()
        assert len(library.orphan_files()) == 2 and library.count() == 0


def test_studio_files_without_metadata_move_to_orphans_and_foreign_pngs_stay(
        tmp_path: Path) -> None:
    root, db = tmp_path / "library", tmp_path / "studio.db"
    (root / "2024-05-01").mkdir(parents=True)
    damaged = root / "2024-05-01" / "20240501-090000_deadbeef_0_1.png"
    Image.new("RGB", (8, 8)).save(damaged)  # Studio's name, no Studio metadata
    unused_input = root / "inputs" / f"{'a' * 64}.png"
    unused_input.parent.mkdir()
    Image.new("RGB", (8, 8), "red").save(unused_input)
    holiday = root / "holiday.png"
    Image.new("RGB", (8, 8), "blue").save(holiday)
    age(root)
    with Library(root, db) as library:
        sweep = library.last_sweep
    assert sorted(sweep.moved) == [f"{ORPHANS_DIR}/2024-05-01/20240501-090000_deadbeef_0_1.png",
                                   f"{ORPHANS_DIR}/inputs/{'a' * 64}.png"]
    assert sweep.foreign == ("holiday.png",) and holiday.exists()
    assert not damaged.exists() and (root / sweep.moved[0]).is_file()
    assert "moved to the orphans/ folder" in sweep.summary()
    with Library(root, db) as again:  # what is in orphans/ is not found again
        assert again.last_sweep.moved == () and again.last_sweep.foreign == ("holiday.png",)
        assert again.orphan_files() == [holiday]


def test_a_png_with_broken_studio_metadata_is_moved_not_imported(tmp_path: Path) -> None:
    from PIL import PngImagePlugin

    root, db = tmp_path / "library", tmp_path / "studio.db"
    (root / "2024-05-01").mkdir(parents=True)
    info = PngImagePlugin.PngInfo()
    info.add_text("studio", '{"seed": 1, "request": {"prompt": 5}}')
    Image.new("RGB", (8, 8)).save(root / "2024-05-01" / "20240501-090000_deadbeef_0_1.png",
                                  pnginfo=info)
    age(root)
    with Library(root, db) as library:
        assert len(library.last_sweep.moved) == 1 and library.count() == 0


def test_sorting_keeps_runs_together_and_names_foreign_files() -> None:
    runs, others, foreign = sort_orphans([
        "2024-05-01/20240501-090000_deadbeef_1_8.png",
        "2024-05-01/20240501-090000_deadbeef_0_7.png",
        "2024-05-01/20240501-090001_cafef00d_0_1.png",
        f"inputs/{'b' * 64}.png", "mine/cat.png", "2024-05-01/cat.png",
    ])
    assert list(runs.values()) == [
        ["2024-05-01/20240501-090000_deadbeef_0_7.png",
         "2024-05-01/20240501-090000_deadbeef_1_8.png"],
        ["2024-05-01/20240501-090001_cafef00d_0_1.png"]]
    assert others == [f"inputs/{'b' * 64}.png"]
    assert foreign == ["2024-05-01/cat.png", "mine/cat.png"]
