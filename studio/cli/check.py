"""`studio check DIR --preset NAME`: do exported images meet a marketplace preset's rules?

Exit 0 when every image passes, 1 when any fails, 2 for bad input (no such folder, no images
in it, an unknown preset: InvalidRequest, which main.py maps to 2).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from backends.errors import InvalidRequest

EXIT_FAILED = 1


def add_check_command(commands: Any) -> None:
    check = commands.add_parser(
        "check", help="check images against a marketplace preset's rules (size, format, sRGB, "
        "and the preset's own: pure white, fill, borders)")
    check.add_argument("folder", metavar="DIR", type=Path,
                       help="a folder of .png, .jpg, .jpeg and .webp images (not its subfolders)")
    check.add_argument("--preset", required=True, metavar="NAME",
                       help="the output preset (see `studio batch --presets`)")
    check.add_argument("--json", action="store_true",
                       help="one JSON object a line: path, preset, passed, rules")
    check.set_defaults(handler=run_check)


def run_check(args: argparse.Namespace) -> int:
    from studio.batch.checks import check_image, image_files
    from studio.batch.presets import get_preset

    preset = get_preset(args.preset)
    folder: Path = args.folder
    if not folder.is_dir():
        raise InvalidRequest(f"{str(folder)!r} is not a folder.")
    files = image_files(folder)
    if not files:
        raise InvalidRequest(f"No images (.png, .jpg, .jpeg, .webp) in {str(folder)!r} or its "
                             "subfolders.")
    failed = 0
    for path in files:
        results = check_image(path, preset)
        passed = all(result.passed for result in results)
        failed += not passed
        if args.json:
            print(json.dumps({"path": str(path), "preset": preset.name, "passed": passed,
                              "rules": [result.to_dict() for result in results]}),
                  flush=True)
            continue
        rules = " · ".join(f"{result.rule} ok" if result.passed
                           else f"{result.rule} FAIL ({result.detail})" for result in results)
        print(f"{'PASS' if passed else 'FAIL'}  {path.relative_to(folder).as_posix()}  {rules}",
              flush=True)
    if not args.json:
        print(f"{len(files) - failed} of {len(files)} images pass {preset.name}"
              + (f"; {failed} fail" if failed else ""))
    return EXIT_FAILED if failed else 0
