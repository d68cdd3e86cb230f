"""`studio generate --product-image`: keep the product's pixels, generate the scene around it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from backends.errors import InvalidRequest
from backends.types import CancelToken, Cost
from studio.backend_kinds import request_model
from studio.cli.options import parse_fill
from studio.formatting import format_usd
from studio.product.placement import POSITIONS

DEFAULT_FILL = 0.85
_PRODUCT_ONLY = ("fill", "preset", "position", "padding", "shadow", "harmonise", "scene",
                 "save_mask")


def add_product_arguments(generate: argparse.ArgumentParser) -> None:
    group = generate.add_argument_group(
        "product photos (the product's pixels are kept exactly; the scene is generated)")
    group.add_argument("--product-image", type=Path,
                       help="a PNG, JPEG or WebP of the product; --prompt describes the scene")
    group.add_argument("--mask", type=Path, help="with --product-image: the product's mask, "
                       "white = product (default: the photo's transparency, else found "
                       "automatically); with --init-image: what to change, white = change")
    group.add_argument("--fill", type=parse_fill, help=f"share of the frame the product fills "
                       f"(default {DEFAULT_FILL}); 'native' keeps its pixel size, unresampled")
    group.add_argument("--preset", help="a size preset by name or a unique part of it, e.g. "
                       "'amazon' (instead of --width/--height)")
    group.add_argument("--position", choices=list(POSITIONS), help="default: center")
    group.add_argument("--padding", type=int, help="pixels kept free at each edge (default 0)")
    group.add_argument("--shadow", action="store_true",
                       help="a soft contact shadow under it, shaped by its silhouette")
    group.add_argument("--harmonise", type=float, metavar="STRENGTH",
                       help="a second, light image-to-image pass (0.05-0.6, e.g. 0.3) that "
                            "settles light and contact around the product; costs a second "
                            "generation; the product's pixels stay exact")
    group.add_argument("--scene", action="append", default=[],
                       help="another scene prompt (repeatable); each gets --count images")
    group.add_argument("--save-mask", type=Path, help="also write the product mask used here")


def check_product_arguments(args: argparse.Namespace) -> None:
    """Product options without --product-image are a mistake worth naming."""
    if args.product_image is not None:
        if args.init_image is not None:
            raise InvalidRequest("Give --product-image or --init-image, not both.")
        return
    if args.mask is not None and args.init_image is None:
        raise InvalidRequest("--mask goes with --product-image (the product's mask) or "
                             "--init-image (what to change, white = change).")
    used = [name for name in _PRODUCT_ONLY if getattr(args, name, None) not in (None, False, [])]
    if used:
        flags = ", ".join("--" + name.replace("_", "-") for name in used)
        raise InvalidRequest(f"{flags} only apply with --product-image PATH.")


def frame_size(args: argparse.Namespace, settings: Any) -> tuple[int, int]:
    from studio.cli.options import pick

    if args.preset is None:
        return (pick(args.width, settings.default_width),
                pick(args.height, settings.default_height))
    if args.width is not None or args.height is not None:
        raise InvalidRequest("Give --preset or --width/--height, not both.")
    from studio.size_presets import size_presets

    presets = size_presets()
    wanted = args.preset.strip().lower()
    exact = [p for p in presets if p.name.lower() == wanted]
    matches = exact or [p for p in presets if wanted in p.name.lower()]
    if len(matches) != 1:
        names = "; ".join(p.name for p in presets)
        how = "matches several presets" if matches else "matches no preset"
        raise InvalidRequest(f"--preset {args.preset!r} {how}. The presets are: {names}.")
    return matches[0].width, matches[0].height


def run_product_generate(args: argparse.Namespace, settings: Any) -> int:
    from studio.backend_kinds import create_backend
    from studio.cli.costs import before_generate
    from studio.cli.options import pick
    from studio.cli.output import print_progress, print_records
    from studio.cli.running import open_loop, sigint_cancels
    from studio.product import (
        Placement,
        ProductSceneBackend,
        generate_product_scenes,
        place_product,
    )
    from studio.product.importing import load_product_photo
    from studio.product.masks import load_mask, product_mask
    from studio.product.project import ProductProject, find_project, save_project

    photo = load_product_photo(args.product_image)
    saved = find_project(photo)
    if args.mask is not None:
        mask, origin = load_mask(args.mask, photo), "file"
    elif saved is not None:
        mask, origin = saved.mask, saved.mask_origin  # keeps a mask refined in the app
    else:
        mask, origin = product_mask(photo)
    fill = pick(args.fill, DEFAULT_FILL)
    placement = Placement(fill=None if fill == "native" else fill,
                          position=args.position or "center", padding=args.padding or 0,
                          shadow=args.shadow, harmonise=args.harmonise or 0.0)
    placed = place_product(photo, mask, frame_size(args, settings), placement)
    scenes = [args.prompt, *args.scene]
    folder = save_project(ProductProject(photo, mask, origin, placement, tuple(scenes)))
    if args.save_mask is not None:
        args.save_mask.parent.mkdir(parents=True, exist_ok=True)
        mask.save(args.save_mask, format="PNG")
    if not args.json:
        print(f"Product mask from {origin}; project saved in {folder}", file=sys.stderr)
    backend = create_backend(settings)
    fields = dict(negative_prompt=args.negative, model=request_model(settings),
                  steps=pick(args.steps, settings.default_steps),
                  guidance=pick(args.guidance, settings.default_guidance),
                  count=args.count, scheduler=args.sampler,
                  strength=pick(args.strength, 1.0))
    first = placed.request(scenes[0], seed=args.seed, **fields)
    wrapped = ProductSceneBackend(backend, placed)
    each = wrapped.estimate_cost(first)
    estimate = Cost(each.usd * len(scenes), f"{len(scenes)} scene(s) × {each.basis}")
    stop = before_generate(args, settings, wrapped, first, estimate)
    if stop is not None:
        return stop
    cancel = CancelToken()

    def show(outcome: Any) -> None:
        if not args.json:
            print(f"\nScene {outcome.scene!r} (estimate was {format_usd(outcome.estimate.usd)}):",
                  file=sys.stderr)
        print_records(outcome.records, args.json, args.out)

    with sigint_cancels(cancel):
        generate_product_scenes(placed, scenes, [args.seed], backend, open_loop(settings),
                                on_outcome=show, on_progress=print_progress, cancel=cancel,
                                **fields)
    return 0
