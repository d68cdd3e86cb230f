"""`studio product cutout-model|upscaler list|fetch [NAME]`: the optional ONNX models.

Nothing is downloaded unless asked. A fetched cut-out model makes product masks from then
on (GrabCut otherwise); a fetched upscaler enlarges scenes for export presets larger than
the generation (Lanczos otherwise). The tables live in resources/models/.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

GROUPS = {"cutout-model": ("cutout", "the product cut-out model (masks; GrabCut without one)"),
          "upscaler": ("upscaler", "the super-resolution model for export presets larger than "
                                   "the generated image (Lanczos without one)")}


def add_product_commands(commands: Any) -> None:
    product = commands.add_parser("product", help="optional models for product photos: "
                                  "cut-out and upscaler (list, fetch)")
    groups = product.add_subparsers(dest="product_group", metavar="MODELS", required=True)
    for group, (kind, about) in GROUPS.items():
        parser = groups.add_parser(group, help=about)
        actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
        listing = actions.add_parser("list", help="the models Studio knows, and which are here")
        listing.set_defaults(handler=run_list, kind=kind)
        fetch = actions.add_parser("fetch", help="download one from the Hugging Face hub "
                                   "(ONNX only), with progress on stderr")
        fetch.add_argument("name", nargs="?", metavar="NAME",
                           help="a name from `list` (default: the first)")
        fetch.add_argument("--force", action="store_true",
                           help="download again even if it is here (e.g. a damaged file)")
        fetch.set_defaults(handler=run_fetch, kind=kind)


def run_list(args: argparse.Namespace) -> int:
    from studio.onnx_models import model_table

    models = model_table(args.kind)
    fetched = [m for m in models if m.is_fetched()]
    # The first fetched cut-out model makes every mask; upscalers are chosen per factor.
    in_use = fetched[0] if fetched and args.kind == "cutout" else None
    for model in models:
        state = "in use" if model is in_use else "fetched" if model.is_fetched() else \
            "not fetched"
        extra = f" ×{model.scale}" if model.kind == "upscaler" else ""
        print(f"{model.name:<20} {state:<12} {model.label}{extra} · {model.licence} · "
              f"about {model.size_mb:g} MB · {model.repo}/{model.file}")
    if not fetched:
        fallback = "GrabCut" if args.kind == "cutout" else "Lanczos"
        print(f"None fetched: Studio uses {fallback}. `{models[0].fetch_hint()}` fetches "
              "the default.", file=sys.stderr)
    return 0


def run_fetch(args: argparse.Namespace) -> int:
    from studio.onnx_models import fetch_model, find_model

    model = find_model(args.kind, args.name)
    if model.is_fetched() and not args.force:
        print(f"{model.name} is already here: {model.path}", file=sys.stderr)
        return 0
    print(f"Fetching {model.label} ({model.licence}, about {model.size_mb:g} MB) from "
          f"{model.repo}/{model.file}…", file=sys.stderr, flush=True)
    path = fetch_model(model, force=args.force, progress=FetchProgress)
    use = "product masks" if model.kind == "cutout" else "exports larger than the generation"
    print(f"Saved {path}; {use} now use {model.method}.", file=sys.stderr)
    return 0


class FetchProgress:
    """The download's progress, as huggingface_hub's `tqdm_class` (the CLI silences the hub's
    own bars): a rich bar on a terminal, else a line on stderr at each quarter."""

    def __init__(self, *, total: int | None = None, initial: int = 0, desc: str = "",
                 **_: Any) -> None:
        from studio.cli.progress import terminal_console

        self.total, self.n, self.desc = total, initial, desc
        self._quarters_told = 0
        self._bar: Any = None
        console = terminal_console()
        if console is not None:
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            self._bar = Progress("{task.description}", BarColumn(), DownloadColumn(),
                                 TransferSpeedColumn(), TimeRemainingColumn(), console=console)
            self._bar.start()
            self._task = self._bar.add_task(desc or "download", total=total, completed=initial)

    def update(self, n: int = 1) -> None:
        self.n += n
        if self._bar is not None:
            self._bar.update(self._task, completed=self.n)
            return
        if self.total:
            quarters = min(4, 4 * self.n // self.total)
            if quarters > self._quarters_told:
                self._quarters_told = quarters
                print(f"  {self.desc}: {25 * quarters}% of {self.total / 1e6:.1f} MB",
                      file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def __enter__(self) -> FetchProgress:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
