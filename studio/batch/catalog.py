"""Reading a product catalog: CSV (any common encoding and delimiter), JSON or JSON Lines.

Shopify and WooCommerce product exports are recognised by their headers and flattened to
one product per variant, inheriting the parent's title and description. Every other sheet
is read as-is. Column names become lower-case identifiers (`Variant SKU` -> `variant_sku`)
so templates can name them as `{variant_sku}`. A row with a problem is reported with its
line number and skipped; it never stops the rest.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backends.errors import InvalidRequest
from studio.batch.catalog_formats import shopify_products, woocommerce_products
from studio.batch.catalog_rows import Product, Records, RowProblem, column_key

# Product, RowProblem and column_key stay importable from here, where their users find them;
# they live in catalog_rows so that catalog_formats can share them without importing this.

SKU_ALIASES = ("sku", "variant_sku", "product_sku", "item_sku", "id", "product_id", "handle",
               "code", "item", "article", "ean", "gtin")
_DELIMITERS = ",;\t|"


class CatalogError(InvalidRequest):
    """The catalog cannot be read at all (as opposed to a bad row, which is reported)."""


@dataclass
class Catalog:
    path: Path
    kind: str  # "shopify", "woocommerce", "sheet", "json" or "jsonl"
    columns: list[str]
    products: list[Product] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    encoding: str = "utf-8"
    delimiter: str = ""


def parse_mapping(pairs: list[str]) -> dict[str, str]:
    """`--map sku="Item Code"` pairs as {target column: source column}."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        target, sep, source = pair.partition("=")
        if not sep or not target.strip() or not source.strip():
            raise CatalogError(f"Column mappings look like sku=\"Item Code\" (got {pair!r}).")
        mapping[column_key(target)] = source.strip()
    return mapping


def load_catalog(path: Path, mapping: Mapping[str, str] | None = None) -> Catalog:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CatalogError(f"The catalog {str(path)!r} cannot be read ({exc.strerror}).") from exc
    text, encoding = decode_text(data)
    sources = {target: column_key(source) for target, source in (mapping or {}).items()}
    suffix = path.suffix.lower()
    stripped = text.lstrip()
    if suffix in (".jsonl", ".ndjson") or (suffix != ".json" and stripped.startswith("{")
                                           and "\n{" in stripped):
        catalog = _from_records(path, "jsonl", _jsonl_records(text), sources)
    elif suffix == ".json" or stripped.startswith(("[", "{")):
        catalog = _from_records(path, "json", _json_records(text), sources)
    else:
        catalog = _from_csv(path, text, sources)
    catalog.encoding = encoding
    if catalog.kind in ("shopify", "woocommerce"):
        _apply_mapping(catalog, sources)
    check_unique_skus(catalog)
    return catalog


def decode_text(data: bytes) -> tuple[str, str]:
    """UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252, else Latin-1."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    for encoding in ("utf-8", "cp1252"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1"), "latin-1"


def sniff_delimiter(text: str) -> str:
    sample = "\n".join(text.splitlines()[:20])
    try:
        return csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        header = text.splitlines()[0] if text else ""
        return max(_DELIMITERS, key=header.count) if header else ","


# --- CSV -------------------------------------------------------------------------------


def _csv_rows(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """Rows with the line each starts on (a quoted cell may span lines)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    start = 1
    for row in reader:
        yield start, row
        start = reader.line_num + 1


def _from_csv(path: Path, text: str, sources: dict[str, str]) -> Catalog:
    if not text.strip():
        raise CatalogError(f"The catalog {path.name!r} is empty.")
    delimiter = sniff_delimiter(text)
    rows = _csv_rows(text, delimiter)
    try:
        _, header = next(rows)
    except csv.Error as exc:
        raise CatalogError(f"The catalog {path.name!r} is not a readable CSV ({exc}).") from exc
    headers = [h.strip() for h in header]
    kind = _csv_kind(headers)
    records: list[tuple[int, dict[str, str]] | RowProblem] = []
    try:
        for line, row in rows:
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(headers):
                records.append(RowProblem(line, f"has {len(row)} cells, the header has "
                                                f"{len(headers)}; check the quoting."))
                continue
            records.append((line, {h: cell.strip() for h, cell in zip(headers, row, strict=True)}))
    except csv.Error as exc:
        records.append(RowProblem(line + 1, f"cannot be read as CSV ({exc})."))
    catalog = Catalog(path, kind, [], delimiter=delimiter)
    if kind == "shopify":
        catalog.products, catalog.problems = shopify_products(records)
    elif kind == "woocommerce":
        catalog.products, catalog.problems = woocommerce_products(records)
    else:
        catalog.products, catalog.problems = plain_products(records, sources)
    catalog.columns = _columns(catalog.products, [column_key(h) for h in headers])
    return catalog


def _csv_kind(headers: list[str]) -> str:
    names = {h.lower() for h in headers}
    if {"handle", "title", "variant sku"} <= names:
        return "shopify"
    if {"type", "sku", "name"} <= names and any(n.startswith("attribute 1 name") for n in names):
        return "woocommerce"
    return "sheet"


def plain_products(
    records: Records, sources: dict[str, str],
) -> tuple[list[Product], list[RowProblem]]:
    """One product per record, its SKU from the first SKU-like column that has a value.

    `sources` maps a column to the column it is taken from ({"sku": "item_code"})."""
    products: list[Product] = []
    problems: list[RowProblem] = []
    seen: dict[str, None] = {}
    for record in records:
        if isinstance(record, RowProblem):
            problems.append(record)
            continue
        line, raw = record
        fields = {column_key(k): _cell(v) for k, v in raw.items()}
        seen.update(dict.fromkeys(fields))
        fields.update({target: fields.get(source, "") for target, source in sources.items()})
        sku = next((fields[a] for a in SKU_ALIASES if fields.get(a)), "")
        if not sku:
            problems.append(RowProblem(line, "has no SKU (a sku, id or handle column); map one "
                                             "with --map sku=COLUMN."))
            continue
        products.append(Product(line, sku, {**fields, "sku": sku}))
    _check_sources(sources, list(seen))
    return products, problems


def _check_sources(sources: dict[str, str], columns: list[str]) -> None:
    unknown = sorted({s for s in sources.values() if s not in columns})
    if unknown:
        raise CatalogError(f"No column {', '.join(unknown)} in the catalog; its columns are "
                           f"{', '.join(columns)}.")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(_cell(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value).strip()


# --- JSON ------------------------------------------------------------------------------


def _flatten(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}_"))
        else:
            flat[name] = value
    return flat


def _json_records(text: str) -> Iterator[tuple[int, dict[str, Any]] | RowProblem]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CatalogError(f"The catalog is not valid JSON: {exc.msg} on line {exc.lineno}.") \
            from exc
    if isinstance(data, dict):
        data = next((v for k, v in data.items() if k in ("products", "items", "data")
                     and isinstance(v, list)), None)
        if data is None:
            raise CatalogError("A JSON catalog is a list of products, or an object with a "
                               "\"products\" list.")
    lines = _array_item_lines(text) if text.lstrip().startswith("[") else []
    for index, item in enumerate(data):
        line = lines[index] if index < len(lines) else index + 1
        if not isinstance(item, dict):
            yield RowProblem(line, f"is not a product object (got {type(item).__name__}).")
        else:
            yield line, _flatten(item)


def _array_item_lines(text: str) -> list[int]:
    """The line each element of a top-level JSON array starts on."""
    decoder = json.JSONDecoder()
    pos = text.index("[") + 1
    lines: list[int] = []
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(text) or text[pos] == "]":
            return lines
        lines.append(text.count("\n", 0, pos) + 1)
        _, pos = decoder.raw_decode(text, pos)


def _jsonl_records(text: str) -> Iterator[tuple[int, dict[str, Any]] | RowProblem]:
    for line, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
        except json.JSONDecodeError as exc:
            yield RowProblem(line, f"is not valid JSON ({exc.msg}).")
            continue
        if not isinstance(item, dict):
            yield RowProblem(line, f"is not a product object (got {type(item).__name__}).")
        else:
            yield line, _flatten(item)


def _from_records(path: Path, kind: str,
                  records: Iterator[tuple[int, dict[str, Any]] | RowProblem],
                  sources: dict[str, str]) -> Catalog:
    products, problems = plain_products(list(records), sources)
    return Catalog(path, kind, _columns(products, []), products, problems)


# --- shared ----------------------------------------------------------------------------


def _columns(products: list[Product], first: list[str]) -> list[str]:
    columns = dict.fromkeys(["sku", *first])
    for product in products:
        columns.update(dict.fromkeys(product.fields))
    return list(columns)


def _apply_mapping(catalog: Catalog, sources: dict[str, str]) -> None:
    """Shopify and WooCommerce columns exist once the variants are flattened."""
    if not sources:
        return
    _check_sources(sources, catalog.columns)
    mapped: list[Product] = []
    for product in catalog.products:
        fields = {**product.fields, **{t: product.fields.get(s, "") for t, s in sources.items()}}
        sku = fields.get("sku", "")
        if not sku:
            catalog.problems.append(RowProblem(product.line, "has an empty SKU after mapping."))
            continue
        mapped.append(Product(product.line, sku, fields))
    catalog.products = mapped
    catalog.columns = list(dict.fromkeys([*catalog.columns, *sources]))
    catalog.problems.sort(key=lambda p: p.line)


def check_unique_skus(catalog: Catalog) -> None:
    """A repeated SKU would make two products share files: the second is reported, skipped."""
    seen: dict[str, int] = {}
    kept: list[Product] = []
    for product in catalog.products:
        first = seen.setdefault(product.sku.casefold(), product.line)
        if first != product.line:
            catalog.problems.append(RowProblem(product.line, f"repeats SKU {product.sku!r} "
                                                             f"(first on line {first})."))
            continue
        kept.append(product)
    catalog.products = kept
    catalog.problems.sort(key=lambda p: p.line)
