"""Product cut-outs: IoU against ground truth and seconds per photo, for each method here.

    python benchmarks/segmentation.py                   # 1024² photos, every method available
    python benchmarks/segmentation.py --size 256 --plain --json seg.json

Makes its own photos: five products (a blue bottle, a red mug with a handle, a yellow carton,
and the hard ones: a black bottle and a silver mug of the background's own hue) on plain,
gradient and textured backgrounds, each product lit with a gradient, a little sensor noise
and a soft contact shadow that is background (the ground truth masks are known). Runs GrabCut
(studio/product/segment.py, always) with its shadow peel and, beside it, without (the plain
alternative), and each cut-out model of resources/models/cutout.json that is fetched into
STUDIO_HOME/models (`studio product cutout-model fetch`); the others are listed as "not
fetched". Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import report as out  # noqa: E402

BACKGROUNDS = ("plain", "gradient", "textured")
NOT_FETCHED = "not fetched"


@dataclass(frozen=True)
class Photo:
    name: str
    background: str
    image: Image.Image
    truth: Image.Image  # L, 255 = product


@dataclass
class MethodResult:
    method: str
    status: str  # "ok", "not fetched", or "failed: why"
    iou: dict[str, float]  # background → mean IoU
    seconds_per_photo: float | None  # the median, at the benchmark's size (1024² by default)


# --- the photos ------------------------------------------------------------------------------

def shape_mask(shape: str, size: int) -> Image.Image:
    mask = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(mask)
    s = size
    if shape == "bottle":
        draw.rounded_rectangle((s * .36, s * .38, s * .64, s * .86), radius=s * .05, fill=255)
        draw.rectangle((s * .45, s * .18, s * .55, s * .39), fill=255)
        draw.rectangle((s * .44, s * .14, s * .56, s * .19), fill=255)
    elif shape == "mug":
        draw.rounded_rectangle((s * .28, s * .34, s * .62, s * .82), radius=s * .03, fill=255)
        draw.ellipse((s * .55, s * .44, s * .76, s * .70), fill=255)
        draw.ellipse((s * .60, s * .50, s * .70, s * .64), fill=0)  # the handle's hole
    else:
        draw.polygon([(s * .25, s * .40), (s * .55, s * .30), (s * .75, s * .38),
                      (s * .75, s * .80), (s * .45, s * .88), (s * .25, s * .80)], fill=255)
    return mask


def background(kind: str, size: int, rng: np.random.Generator) -> np.ndarray:
    y = np.arange(size, dtype=np.float32)[:, None, None]
    x = np.arange(size, dtype=np.float32)[None, :, None]
    if kind == "plain":
        base = np.broadcast_to(np.array([236, 236, 234], np.float32), (size, size, 3))
    elif kind == "gradient":
        top, bottom = np.array([250, 246, 240], np.float32), np.array([150, 160, 178],
                                                                       np.float32)
        base = top + (bottom - top) * (y / size) + 0 * x
    else:  # wood-like stripes
        stripes = 22 * np.sin(x / (size / 70) + 3 * np.sin(y / (size / 22)))
        base = np.concatenate([190 + stripes, 160 + stripes * .8, 120 + stripes * .5], axis=2)
    return np.asarray(base, np.float32) + rng.normal(0, 3, (size, size, 3)).astype(np.float32)


# Coloured products, and the hard ones for a cut-out: black, and a grey that has the
# background's own hue.
PRODUCTS = (("bottle", "blue"), ("mug", "red"), ("carton", "yellow"), ("bottle", "black"),
            ("mug", "silver"))
COLOURS = {"blue": (40, 110, 160), "red": (200, 70, 50), "yellow": (225, 200, 120),
           "black": (28, 28, 30), "silver": (170, 170, 174)}


def product_colours(colour: str, size: int, rng: np.random.Generator) -> np.ndarray:
    light = np.linspace(1.15, 0.75, size, dtype=np.float32)[None, :, None]
    return np.asarray(COLOURS[colour], np.float32) * light + rng.normal(0, 4, (size, size, 3))


def make_photo(shape: str, kind: str, size: int, seed: int, colour: str = "blue") -> Photo:
    rng = np.random.default_rng(seed)
    truth = shape_mask(shape, size)
    scene = background(kind, size, rng)
    # A soft contact shadow under the product: darker background, not product.
    shadow = Image.new("L", (size, size), 0)
    box = truth.getbbox() or (0, 0, size, size)
    ImageDraw.Draw(shadow).ellipse((box[0] - size * .03, box[3] - size * .04,
                                    box[2] + size * .08, box[3] + size * .05), fill=150)
    shadow = shadow.filter(ImageFilter.GaussianBlur(size * .02))
    scene *= 1 - np.asarray(shadow, np.float32)[:, :, None] / 255 * 0.6
    inside = np.asarray(truth, np.float32)[:, :, None] / 255
    pixels = scene * (1 - inside) + product_colours(colour, size, rng) * inside
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
    return Photo(f"{colour} {shape} on {kind}", kind, image, truth)


def make_photos(size: int) -> list[Photo]:
    return [make_photo(shape, kind, size, seed=index, colour=colour)
            for index, (shape, colour, kind) in enumerate(
                (s, c, k) for k in BACKGROUNDS for s, c in PRODUCTS)]


# --- the methods -----------------------------------------------------------------------------

def iou(mask: Image.Image, truth: Image.Image) -> float:
    a, b = np.asarray(mask.convert("L")) >= 128, np.asarray(truth) >= 128
    return float((a & b).sum() / max(1, (a | b).sum()))


def methods(wanted: list[str] | None) -> list[tuple[str, Callable[[Image.Image], Image.Image]
                                              | None]]:
    """(method, mask function or None when its model is not fetched), GrabCut first."""
    from studio.onnx_models import model_table
    from studio.product.cutout import model_mask
    from studio.product.segment import auto_mask

    found: list[tuple[str, Callable[[Image.Image], Image.Image] | None]] = [
        ("grabcut", auto_mask),
        ("grabcut-no-peel", lambda image: auto_mask(image, peel=False))]
    for model in model_table("cutout"):
        run = (lambda image, m=model: model_mask(image, m)) if model.is_fetched() else None
        found.append((model.method, run))
    if wanted:
        found = [(name, run) for name, run in found
                 if name in wanted or name.removeprefix("model:") in wanted]
    return found


def measure(name: str, run: Callable[[Image.Image], Image.Image] | None,
            photos: list[Photo]) -> MethodResult:
    if run is None:
        return MethodResult(name, NOT_FETCHED, {}, None)
    scores: dict[str, list[float]] = {kind: [] for kind in BACKGROUNDS}
    times = []
    try:
        run(photos[0].image)  # warm-up: a model's first run builds its session
        for photo in photos:
            started = time.perf_counter()
            mask = run(photo.image)
            times.append(time.perf_counter() - started)
            scores[photo.background].append(iou(mask, photo.truth))
    except Exception as exc:  # one method failing still reports the others
        return MethodResult(name, f"failed: {exc}", {}, None)
    return MethodResult(name, "ok", {k: statistics.fmean(v) for k, v in scores.items() if v},
                        statistics.median(times))


# --- the report ------------------------------------------------------------------------------

def rows(results: list[MethodResult]) -> list[list[str]]:
    table = []
    for r in results:
        if r.status != "ok":
            table.append([r.method, r.status, *[out.DASH] * (len(BACKGROUNDS) + 1)])
            continue
        ious = [f"{r.iou[k]:.3f}" for k in BACKGROUNDS]
        table.append([r.method, *ious, f"{statistics.fmean(r.iou.values()):.3f}",
                      out.seconds(r.seconds_per_photo, 3)])
    return table


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=1024, help="photo side (default 1024)")
    parser.add_argument("--methods", help="comma-separated: grabcut and/or model names "
                        "(default: all)")
    parser.add_argument("--plain", action="store_true", help="plain tables, not rich's")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    if args.size < 32:
        parser.error("--size is at least 32")
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # fetched models only: nothing downloads
    args = parse_args(argv)
    photos = make_photos(args.size)
    wanted = [m.strip() for m in args.methods.split(",")] if args.methods else None
    results = [measure(name, run, photos) for name, run in methods(wanted)]
    info = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "cpu": out.cpu_model(), "cpu_cores": os.cpu_count(),
            "python": platform.python_version(), "size": args.size, "photos": len(photos)}
    if hasattr(os, "getloadavg"):
        info["load_average"] = [round(x, 2) for x in os.getloadavg()]
    print("Studio segmentation benchmark")
    print(f"date: {info['date']} · CPU: {info['cpu']} ({info['cpu_cores']} cores) · "
          f"load {info.get('load_average', '?')}")
    products = ", ".join(f"{colour} {shape}" for shape, colour in PRODUCTS)
    print(f"{len(photos)} synthetic photos, {args.size}×{args.size}: {products} on "
          f"{', '.join(BACKGROUNDS)} backgrounds, with soft shadows\n")
    columns = ["method", *(f"IoU {k}" for k in BACKGROUNDS), "IoU mean",
               f"s per {args.size}² photo"]
    print(out.render("Cut-out quality and speed", columns, rows(results), plain=args.plain))
    report = {"info": info, "results": [asdict(r) for r in results]}
    if args.json:
        args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")
    return report


if __name__ == "__main__":
    main()
