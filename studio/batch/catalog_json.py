"""JSON and JSON Lines catalogs: a list of product objects (or an object holding one), or one
object per line. Nested objects become `parent_child` columns, lists become "a, b" text.

Nothing here recurses on the data: a product nested thousands of levels deep is reported
as a problem with its line, not a RecursionError.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

from studio.batch.catalog_rows import CatalogError, RowProblem

MAX_DEPTH = 16  # levels of nesting inside one product: more is not a product record
WRAPPER_KEYS = ("products", "items", "data")
Record = tuple[int, dict[str, str]] | RowProblem


def json_records(text: str) -> Iterator[Record]:
    data = _loads(text)
    if isinstance(data, dict):
        data = next((v for k, v in data.items() if k in WRAPPER_KEYS and isinstance(v, list)),
                    None)
    if not isinstance(data, list):
        raise CatalogError("A JSON catalog is a list of products, or an object with a "
                           "\"products\" list.")
    lines = _array_item_lines(text, len(data)) if text.lstrip().startswith("[") else []
    shared = {line for line, count in Counter(lines).items() if count > 1}
    for index, item in enumerate(data):
        line = lines[index] if index < len(lines) else 1
        record = _record(line, item)
        if isinstance(record, RowProblem) and (line in shared or index >= len(lines)):
            record = RowProblem(line, record.message, element=index + 1)  # minified JSON
        yield record


def jsonl_records(text: str) -> Iterator[Record]:
    # Split on newlines only: a JSON string may hold U+2028, which splitlines() breaks on.
    for line, raw in enumerate(text.split("\n"), start=1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
        except json.JSONDecodeError as exc:
            yield RowProblem(line, f"is not valid JSON ({exc.msg}).")
            continue
        except RecursionError:
            yield RowProblem(line, f"nests deeper than {MAX_DEPTH} levels.")
            continue
        except ValueError as exc:  # e.g. an integer over Python's 4300-digit limit
            yield RowProblem(line, f"is not usable JSON ({exc}).")
            continue
        yield _record(line, item)


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CatalogError(f"The catalog is not valid JSON: {exc.msg} on line {exc.lineno}.") \
            from None
    except RecursionError:
        raise CatalogError("The JSON catalog nests too deeply to be a product list (near "
                           f"line {_deepest_line(text)}).") from None
    except ValueError as exc:
        raise CatalogError(f"The catalog is not usable JSON ({exc}).") from None


def _deepest_line(text: str) -> int:
    """The line where bracket nesting is deepest, ignoring strings: where to look."""
    depth = best = 0
    best_at = 0
    in_string = escaped = False
    for index, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > best:
                best, best_at = depth, index
        elif char in "]}":
            depth -= 1
    return text.count("\n", 0, best_at) + 1


def _record(line: int, item: Any) -> Record:
    if not isinstance(item, dict):
        return RowProblem(line, f"is not a product object (got {_kind(item)}).")
    if _too_deep(item):
        return RowProblem(line, f"nests deeper than {MAX_DEPTH} levels.")
    return line, _flatten(item)


def _kind(value: Any) -> str:
    names = {list: "a list", str: "a string", bool: "true/false", type(None): "null",
             int: "a number", float: "a number"}
    return names.get(type(value), type(value).__name__)


def _too_deep(item: Any) -> bool:
    stack: list[tuple[Any, int]] = [(item, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
    return False


def _flatten(record: dict[str, Any]) -> dict[str, str]:
    """{"attrs": {"color": "tan"}} -> {"attrs_color": "tan"}; depth is already bounded."""
    flat: dict[str, str] = {}
    pending: list[tuple[str, dict[str, Any]]] = [("", record)]
    while pending:
        prefix, current = pending.pop(0)
        for key, value in current.items():
            name = f"{prefix}{key}"
            if isinstance(value, dict):
                pending.append((f"{name}_", value))
            else:
                flat[name] = cell_text(value)
    return flat


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(text for text in map(cell_text, value) if text)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {cell_text(v)}" for k, v in value.items())
    return str(value).strip()


def _array_item_lines(text: str, count: int) -> list[int]:
    """The line each element of a top-level JSON array starts on (the text already parsed)."""
    decoder = json.JSONDecoder()
    pos = text.index("[") + 1
    lines: list[int] = []
    line, counted = 1, 0
    while len(lines) < count:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(text) or text[pos] == "]":
            break
        line += text.count("\n", counted, pos)
        counted = pos
        lines.append(line)
        try:
            _, pos = decoder.raw_decode(text, pos)
        except (ValueError, RecursionError):
            break
    return lines
