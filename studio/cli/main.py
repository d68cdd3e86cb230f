"""`studio` on the command line: the commands, and how errors become exit codes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from backends.errors import (
    BackendError,
    BackendUnavailable,
    Cancelled,
    InvalidRequest,
    TransientError,
)
from studio.cli.costs import EXIT_OVER_BUDGET
from studio.costs.budget import BudgetExceeded

# Opened in the window, which restores their parameters (studio.library.foreign_png).
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")

EXIT_CODES: dict[type[BackendError], int] = {
    InvalidRequest: 2, BackendUnavailable: 3, TransientError: 4, Cancelled: 130,
}


def build_parser() -> argparse.ArgumentParser:
    from studio.cli.batch import add_batch_commands
    from studio.cli.bedrock import add_bedrock_commands
    from studio.cli.check import add_check_command
    from studio.cli.costs import add_cost_commands
    from studio.cli.endpoint import add_endpoint_commands
    from studio.cli.generate import add_generate_command
    from studio.cli.history import add_history_command
    from studio.cli.params import add_params_command
    from studio.cli.product_models import add_product_commands

    parser = argparse.ArgumentParser(
        prog="studio", description="Studio: generate product images and see what each one cost.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_generate_command(commands)
    add_history_command(commands)
    add_params_command(commands)
    add_endpoint_commands(commands)
    add_batch_commands(commands)
    add_cost_commands(commands)
    add_bedrock_commands(commands)
    add_check_command(commands)
    add_product_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv == ["--smoke-test"]:
        from studio.smoke import run_smoke_test

        return run_smoke_test()
    if not argv or all(arg.lower().endswith(_IMAGE_SUFFIXES) for arg in argv):
        from studio.ui.app import run

        return run(argv)  # no command: open the window (images restore their parameters)
    from studio.cli.quiet import silence_third_party

    silence_third_party()  # before any backend imports transformers or diffusers
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.handler(args)
    except BackendError as exc:
        print(f"studio: error: {exc}", file=sys.stderr)
        # isinstance, so a backend's own subclasses (e.g. Bedrock's ModelAccessDenied) count.
        return next((code for kind, code in EXIT_CODES.items() if isinstance(exc, kind)), 1)
    except BudgetExceeded as exc:  # the daily cap, checked again as the work starts
        print(f"studio: error: {exc}", file=sys.stderr)
        return EXIT_OVER_BUDGET
    except KeyboardInterrupt:
        print("studio: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
