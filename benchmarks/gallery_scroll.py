"""The gallery over a 100,000-image library: open, page, search and scroll times.

    .venv/bin/python benchmarks/gallery_scroll.py [--images 100000] [--dir DIR]

Rows go in with plain SQL (a real schema, real FTS triggers); the PNGs are hard links to a
few shared 512 px images, while every row has its own hash, so every tile needs its own
thumbnail as in real use. Runs offscreen; prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image  # noqa: E402
from PySide6.QtCore import QPoint, Qt  # noqa: E402
from PySide6.QtGui import QPixmap  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from studio.library import Library  # noqa: E402
from studio.ui.gallery.pane import GalleryPane, MissingRole  # noqa: E402
from studio.ui.gallery.thumbnails import ThumbnailCache  # noqa: E402

WORDS = ("red blue green black white leather canvas suede sneaker handbag mug lamp chair "
         "watch bottle studio light soft shadow marble wooden table minimal flat lay "
         "product photo on background close-up angle").split()
BACKENDS = {"local": ["sd-turbo", "sdxl-base"], "sagemaker": ["sdxl-inf2", "flux-schnell"],
            "bedrock": ["titan-image-v2", "sd3-large"]}
SOURCES = 64  # distinct PNG files behind all the rows (a file takes at most ~65k links)


def build_library(root: Path, images: int) -> Library:
    library = Library.open(root)
    sources = root / "_sources"
    sources.mkdir()
    rng = random.Random(7)
    for n in range(SOURCES):
        hue = Image.linear_gradient("L").resize((512, 512))
        image = Image.merge("RGB", (hue, hue.rotate(90 * (n % 4)), Image.new("L", (512, 512),
                                                                             n * 4)))
        image.save(sources / f"{n}.png")
    start = datetime(2024, 1, 1, tzinfo=UTC)
    runs, rows = [], []
    n = 0
    while n < images:
        per_run = min(rng.choice((1, 2, 4)), images - n)
        backend = rng.choice(list(BACKENDS))
        model = rng.choice(BACKENDS[backend])
        prompt = " ".join(rng.sample(WORDS, 6))
        run_id = str(uuid.UUID(int=rng.getrandbits(128)))
        created = (start + timedelta(seconds=30 * n)).isoformat(timespec="microseconds")
        folder = created[:10]
        runs.append((run_id, created, backend, model, "cuda", "txt2img", prompt,
                     json.dumps({"prompt": prompt, "model": model}), n, 4, 1.0, 1024, 1024,
                     per_run, rng.uniform(0.5, 30), rng.uniform(0, 0.08), "bench",
                     int(backend == "local")))
        for k in range(per_run):
            rel = f"{folder}/{run_id[:8]}_{k}.png"
            rows.append((run_id, rel, n + k, 512, 512,
                         hashlib.sha256(f"{run_id}{k}".encode()).hexdigest(),
                         int(rng.random() < 0.03), created))
        n += per_run
    for index, (_, rel, *_rest) in enumerate(rows):
        target = root / rel
        target.parent.mkdir(exist_ok=True)
        os.link(sources / f"{index % SOURCES}.png", target)
    with library._transaction() as conn:  # the benchmark's shortcut past record()
        conn.executemany(
            "INSERT INTO runs (id, created_at, backend, model, device, mode, prompt, "
            "request_json, seed, steps, guidance, width, height, count, total_s, cost_usd, "
            "cost_basis, cost_estimated) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", runs)
        conn.executemany(
            "INSERT INTO images (run_id, path, seed, width, height, sha256, favourite, "
            "created_at) VALUES (?,?,?,?,?,?,?,?)", rows)
    return library


def say(text: str) -> None:
    print(text, flush=True)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


def spread(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return (f"median {ms(statistics.median(ordered))}  p95 {ms(p95)}  max {ms(ordered[-1])}"
            f"  (n={len(ordered)})")


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def pump(app: QApplication, seconds: float) -> list[float]:
    """Run the event loop for `seconds`; the length of each iteration (a stall shows here)."""
    iterations = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        iterations.append(timed(app.processEvents))
        time.sleep(0.002)
    return iterations


def visible_loaded(pane: GalleryPane) -> bool:
    view = pane.view
    rect = view.viewport().rect()
    top = view.indexAt(rect.topLeft() + QPoint(2, 2))
    if not top.isValid():
        return True
    row = top.row()
    while row < pane.model.rowCount():
        index = pane.model.index(row)
        if not view.visualRect(index).intersects(rect):
            break
        loaded = isinstance(pane.model.data(index, Qt.ItemDataRole.DecorationRole), QPixmap)
        if not loaded and not pane.model.data(index, MissingRole):
            return False
        row += 1
    return True


def wait_for(app: QApplication, done: Callable[[], bool], limit_s: float = 60) -> float:
    start = time.perf_counter()
    while not done() and time.perf_counter() - start < limit_s:
        app.processEvents()
        time.sleep(0.001)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--dir", type=Path, help="work folder (default: a temp folder)")
    args = parser.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="gallery-bench-"))
    app = QApplication.instance() or QApplication([])
    say(f"Qt platform {app.platformName()}, {os.cpu_count()} CPUs, {args.images:,} images")

    start = time.perf_counter()
    library = build_library(work / "library", args.images)
    say(f"setup (rows + links)          {time.perf_counter() - start:6.1f} s")
    thumbnails = ThumbnailCache(work / "thumbnails")
    try:
        holder: dict[str, GalleryPane] = {}

        def open_pane() -> None:
            pane = GalleryPane(library, thumbnails)
            pane.resize(1400, 900)
            pane.show()
            app.processEvents()
            pane.view.viewport().repaint()
            holder["pane"] = pane

        say(f"open: first page shown        {ms(timed(open_pane))}")
        pane = holder["pane"]
        model, view = pane.model, pane.view
        say(f"  rows loaded {model.rowCount()}, label {pane.filter_bar.count_label.text()!r}")
        say(f"visible thumbnails, cold      {ms(wait_for(app, lambda: visible_loaded(pane)))}")

        pages = [timed(model.fetchMore) for _ in range(20)]
        say(f"fetchMore (200 rows)          {spread(pages)}")

        searches = {
            "text 'red sneaker'": {"text": "red sneaker"},
            "text 'leather'": {"text": "leather"},
            "backend=bedrock": {"backend": "bedrock"},
            "model=sdxl-base": {"model": "sdxl-base"},
            "favourites": {"favourites_only": True},
            "'studio' + local + last 7 days": {
                "text": "studio", "backend": "local",
                "since": datetime(2024, 1, 1, tzinfo=UTC) + timedelta(
                    seconds=30 * args.images) - timedelta(days=7)},
            "text with no match": {"text": "zebra"},
            "cleared": {},
        }
        for label, filters in searches.items():
            took = timed(lambda filters=filters: (model.set_filters(**filters),
                                                  view.viewport().repaint()))
            say(f"search {label:<30} {ms(took)}  -> {model.total:,} images")

        bar = view.verticalScrollBar()
        frames, between = [], []
        for _ in range(150):
            # One frame: scroll and paint. Then the event loop's own work until the next one
            # (fetching a page, thumbnails arriving), as a wheel-driven scroll would see it.
            frames.append(timed(lambda: (bar.setValue(bar.value() + bar.pageStep()),
                                         view.viewport().repaint())))
            between.append(timed(app.processEvents))
        say(f"scroll a screen: frame        {spread(frames)}")
        say(f"  event loop between frames   {spread(between)}")
        say(f"  rows loaded {model.rowCount():,}; thumbnails pending {thumbnails.pending()}")
        stalls = pump(app, 2.0)
        say(f"event loop while thumbs load  {spread(stalls)}")

        # Drag the scroll bar to the bottom, again and again, until everything is loaded.
        # Each insert makes Qt lay the grid out again, 100 tiles per event-loop pass, so new
        # rows become reachable over several passes. Per step (one or more pages arriving):
        # ms per 200 new rows, and the longest single pass (what a user would feel).
        steps: list[tuple[int, float, float]] = []  # (rows before, s per 200 rows, longest)
        paging_start = time.perf_counter()
        while model.canFetchMore():
            loaded, start, longest = model.rowCount(), time.perf_counter(), 0.0
            while model.rowCount() == loaded:
                longest = max(longest, timed(lambda: (view.scrollToBottom(),
                                                      app.processEvents())))
            took = time.perf_counter() - start
            steps.append((loaded, took * 200 / (model.rowCount() - loaded), longest))
        say(f"scroll to bottom: per 200 rows {spread([s[1] for s in steps])}")
        say(f"  longest event-loop pass      {spread([s[2] for s in steps])}")
        worst = max(steps, key=lambda s: s[2])
        say(f"  the longest pass came at {worst[0]:,} rows")
        for low, high in ((0, 10_000), (10_000, 50_000), (50_000, args.images)):
            part = [s for s in steps if low <= s[0] < high]
            if part:
                say(f"  {low:>6,}-{high:<7,} rows: per 200 rows {spread([s[1] for s in part])}")
                say(f"  {'':>21} longest pass {spread([s[2] for s in part])}")
        say(f"  rows loaded {model.rowCount():,}; "
            f"{time.perf_counter() - paging_start:.1f} s of scrolling to the bottom")

        rng = random.Random(3)
        jumps = [timed(lambda: (bar.setValue(rng.randint(0, bar.maximum())), app.processEvents(),
                                view.viewport().repaint())) for _ in range(100)]
        say(f"random jump, all loaded       {spread(jumps)}")
        stalls = pump(app, 2.0)
        say(f"event loop while thumbs load  {spread(stalls)}")
        count, size = thumbnails.memory_usage()
        say(f"thumbnails in memory {count:,} ({size / 2**20:.0f} MiB); on disk "
              f"{len(list(thumbnails.folder.glob('*.jpg'))):,}")
        pane.close()
    finally:
        thumbnails.shutdown()
        library.close()
        if args.dir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
