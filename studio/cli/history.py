"""`studio history`: list and search what was generated: a table (id, date, prompt, model,
seed, latency, cost) fitted to the terminal, or one JSON object per image with --json."""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Sequence
from typing import Any

from backends.errors import InvalidRequest

HEADERS = ("id", "date", "prompt", "model", "seed", "latency", "cost")
MODEL_CHARS = 24
MIN_PROMPT_CHARS = 12
# Piped into a file or another program: wide enough that prompts mostly stay whole.
PIPE_WIDTH = 160


def add_history_command(commands: Any) -> None:
    history = commands.add_parser("history", help="list and search generated images")
    history.add_argument("--search", help="words to find in prompts")
    history.add_argument("--limit", type=int, default=20)
    history.add_argument("--json", action="store_true", help="one JSON object per image")
    history.add_argument("--live", action=argparse.BooleanOptionalAction, default=None,
                         help="only the images live mode made (--live) or none of them "
                              "(--no-live); both by default")
    history.set_defaults(handler=run_history)


def run_history(args: argparse.Namespace) -> int:
    from studio.cli.output import print_record
    from studio.library import Library
    from studio.settings.values import load_settings

    if args.limit < 1:
        raise InvalidRequest("--limit must be at least 1.")
    library = Library.open(load_settings().library_path())
    records = library.search(args.search or None, limit=args.limit,
                             live=getattr(args, "live", None))
    if not records and not args.json:
        print("No images found." if args.search else "History is empty.", file=sys.stderr)
    if args.json:
        for record in records:
            print_record(record, True)
    elif records:
        width = shutil.get_terminal_size((PIPE_WIDTH, 24)).columns
        print("\n".join(history_table(records, width)))
    return 0


def history_table(records: Sequence[Any], width: int) -> list[str]:
    """The records as table lines no wider than `width`; the prompt takes what is left,
    elided with "…". An estimated cost reads "~"."""
    from studio.formatting import format_seconds, format_usd, per_image_seconds, short_prompt

    rows = [(str(record.id), record.created_at.astimezone().strftime("%Y-%m-%d %H:%M"),
             record.prompt, short_prompt(record.model or "—", MODEL_CHARS), str(record.seed),
             # Each image's own share of its run, as the window shows it.
             format_seconds(per_image_seconds(record.latency_s,
                                              int(record.request.get("count") or 1))),
             ("~" if record.cost.estimated else "") + format_usd(record.cost.usd))
            for record in records]
    widths = [max(len(row[i]) for row in (HEADERS, *rows)) for i in range(len(HEADERS))]
    others = sum(w for i, w in enumerate(widths) if i != 2) + 2 * (len(HEADERS) - 1)
    widths[2] = min(widths[2], max(MIN_PROMPT_CHARS, width - others))
    right = {0, 4, 5, 6}  # numbers align right

    def line(cells: Sequence[str]) -> str:
        out = []
        for i, cell in enumerate(cells):
            if i == 2:
                cell = short_prompt(cell, widths[2])
            out.append(cell.rjust(widths[i]) if i in right else cell.ljust(widths[i]))
        return "  ".join(out).rstrip()

    return [line(HEADERS), *(line(row) for row in rows)]
