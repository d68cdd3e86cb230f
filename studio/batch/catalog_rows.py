"""What reading a catalog yields, shared by the generic reader and the shop-export readers.

It lives apart from `catalog` so that the Shopify/WooCommerce readers (`catalog_formats`)
and `catalog` itself can both import it without importing each other.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

from backends.errors import InvalidRequest


class CatalogError(InvalidRequest):
    """The catalog cannot be read at all (as opposed to a bad row, which is reported)."""


@dataclass(frozen=True)
class Product:
    line: int
    sku: str
    fields: dict[str, str]


@dataclass(frozen=True)
class RowProblem:
    line: int
    message: str
    element: int | None = None  # a JSON array's element (from 1): several may share a line

    def __str__(self) -> str:
        where = f", element {self.element}" if self.element is not None else ""
        return f"line {self.line}{where}: {self.message}"


# Rows as read, each with the line it starts on, or the problem that made it unreadable.
Records = list[tuple[int, dict[str, Any]] | RowProblem]


def column_key(name: str) -> str:
    """A header as a template identifier: `Option1 Value` -> `option1_value`."""
    key = re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")
    return key or "column"


def strip_html(text: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", text))).strip()
