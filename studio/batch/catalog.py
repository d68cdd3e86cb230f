"""Reading a product catalog: CSV (any common encoding and delimiter), JSON or JSON Lines.

Shopify and WooCommerce product exports are recognised by their headers and flattened to
one product per variant, inheriting the parent's title and description. Every other sheet
is read as-is. Column names become lower-case identifiers (`Variant SKU` -> `variant_sku`)
so templates can name them as `{variant_sku}`. A sheet without a `sku` column takes its
SKUs from the first SKU-like one (`pid`, `product_id`, `asin`…), which the summary names.
A row with a problem is reported with its line number and skipped; it never stops the rest.
A file that cannot be read at all is a CatalogError that says where, never a traceback.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from studio.batch.catalog_formats import shopify_products, woocommerce_products
from studio.batch.catalog_json import json_records, jsonl_records
from studio.batch.catalog_rows import (
    CatalogError,
    Product,
    Records,
    RowProblem,
    column_key,
)
from studio.batch.catalog_text import csv_rows, decode_text, refuse_binary, sniff_delimiter

# CatalogError, Product, RowProblem and column_key stay importable from here, where their
# users find them; they live in catalog_rows so that the format readers can share them.
__all__ = ["Catalog", "CatalogError", "Product", "RowProblem", "column_key", "decode_text",
           "load_catalog", "parse_mapping", "sniff_delimiter"]

# The columns a SKU is taken from when there is no `sku` one, most specific first: the
# first of them with any value in the file is used for every row, and the summary names it.
SKU_ALIASES = ("sku", "variant_sku", "product_sku", "item_sku", "sku_id", "sku_code",
               "item_code", "product_code", "article_number", "style_number", "pid",
               "product_id", "item_id", "uniq_id", "unique_id", "asin", "gtin", "gtin13",
               "gtin14", "ean", "upc", "isbn", "mpn", "barcode", "id", "handle", "code",
               "item", "article")
MAX_CATALOG_BYTES = 256 * 1024 * 1024


@dataclass
class Catalog:
    path: Path
    kind: str  # "shopify", "woocommerce", "sheet", "json" or "jsonl"
    columns: list[str]
    products: list[Product] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    encoding: str = "utf-8"
    delimiter: str = ""
    sku_column: str = "sku"  # the column each product's SKU was taken from
    photo_column: str | None = None  # where the format itself keeps each product's photo

    def describe(self) -> str:
        """The one-line summary the CLI and the batch dialog show."""
        how = [self.encoding, *([repr(self.delimiter)] if self.delimiter else [])]
        sku = f", SKU from column {self.sku_column!r}" if self.sku_column != "sku" else ""
        count = len(self.products)
        return f"{self.kind}, {count} product{'' if count == 1 else 's'} ({', '.join(how)}){sku}"


def parse_mapping(pairs: list[str]) -> dict[str, str]:
    """`--map sku="Item Code"` pairs as {target column: source column}."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        target, sep, source = pair.partition("=")
        if not sep or not target.strip() or not source.strip():
            raise CatalogError(f"Column mappings look like sku=\"Item Code\" (got {pair!r}).")
        mapping[column_key(target)] = source.strip()
    return mapping


def load_catalog(path: Path, mapping: Mapping[str, str] | None = None, *,
                 include_nonphysical: bool = False) -> Catalog:
    """The catalog's products; rows that cannot be used are in `problems`, each with its line.

    `include_nonphysical` keeps what a shop export marks as not a physical product (virtual,
    downloadable and grouped WooCommerce products, Shopify gift cards and products that need
    no shipping), which are otherwise reported as skipped."""
    path = Path(path)
    text, encoding = decode_text(_read(path))
    refuse_binary(text)
    if not text.strip():
        raise CatalogError(f"The catalog {path.name!r} is empty.")
    sources = {target: column_key(source) for target, source in (mapping or {}).items()}
    suffix = path.suffix.lower()
    stripped = text.lstrip()
    if suffix in (".jsonl", ".ndjson") or (suffix != ".json" and stripped.startswith("{")
                                           and "\n{" in stripped):
        catalog = _from_records(path, "jsonl", list(jsonl_records(text)), sources)
    elif suffix == ".json" or stripped.startswith(("[", "{")):
        catalog = _from_records(path, "json", list(json_records(text)), sources)
    else:
        catalog = _from_csv(path, text, sources, include_nonphysical)
    catalog.encoding = encoding
    if catalog.kind in ("shopify", "woocommerce"):
        _apply_mapping(catalog, sources)
    check_unique_skus(catalog)
    return catalog


def _read(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_CATALOG_BYTES:
            raise CatalogError(f"The catalog {path.name!r} is {size / 2**20:.0f} MB; split it "
                               f"into files under {MAX_CATALOG_BYTES // 2**20} MB.")
        return path.read_bytes()
    except OSError as exc:
        raise CatalogError(f"The catalog {str(path)!r} cannot be read "
                           f"({exc.strerror or exc}).") from None


# --- CSV -------------------------------------------------------------------------------


def _from_csv(path: Path, text: str, sources: dict[str, str],
              include_nonphysical: bool) -> Catalog:
    if not text.strip():
        raise CatalogError(f"The catalog {path.name!r} is empty.")
    delimiter = sniff_delimiter(text)
    rows = csv_rows(text, delimiter)
    header: list[str] | None = None
    for row in rows:
        if isinstance(row, RowProblem):
            raise CatalogError(f"The header of {path.name!r} (line {row.line}) {row.message}")
        if any(cell.strip() for cell in row[1]):
            header = row[1]
            break
    if header is None:
        raise CatalogError(f"The catalog {path.name!r} is empty.")
    headers = [h.strip() for h in header]
    kind = _csv_kind(headers)
    records: Records = []
    for row in rows:
        if isinstance(row, RowProblem):
            records.append(row)
            continue
        line, cells = row
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(headers):
            records.append(RowProblem(line, f"has {len(cells)} cells, the header has "
                                            f"{len(headers)}; check the quoting."))
            continue
        records.append((line, {h: cell.strip() for h, cell in zip(headers, cells, strict=True)}))
    catalog = Catalog(path, kind, [], delimiter=delimiter)
    if kind == "shopify":
        catalog.products, catalog.problems = shopify_products(records, include_nonphysical)
        catalog.photo_column = "product_photo"
    elif kind == "woocommerce":
        catalog.products, catalog.problems = woocommerce_products(records, include_nonphysical)
        catalog.photo_column = "images"
    else:
        catalog.products, catalog.problems, catalog.sku_column = \
            plain_products(records, sources)
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
) -> tuple[list[Product], list[RowProblem], str]:
    """One product per record, its SKU from the catalog's SKU column (see `sku_column`).

    `sources` maps a column to the column it is taken from ({"sku": "item_code"})."""
    problems: list[RowProblem] = []
    rows: list[tuple[int, dict[str, str]]] = []
    seen: dict[str, None] = {}
    for record in records:
        if isinstance(record, RowProblem):
            problems.append(record)
            continue
        line, raw = record
        fields = {column_key(k): str(v).strip() for k, v in raw.items()}
        seen.update(dict.fromkeys(fields))
        fields.update({target: fields.get(source, "") for target, source in sources.items()})
        rows.append((line, fields))
    _check_sources(sources, list(seen))
    column = sku_column([fields for _, fields in rows])
    products: list[Product] = []
    for line, fields in rows:
        sku = fields.get(column, "") if column else ""
        if not sku:
            where = f"in column {column!r}" if column else "(a sku, id or pid column)"
            problems.append(RowProblem(line, f"has no SKU {where}; map one with "
                                             "--map sku=COLUMN."))
            continue
        products.append(Product(line, sku, {**fields, "sku": sku}))
    problems.sort(key=lambda p: p.line)
    return products, problems, column or "sku"


def sku_column(rows: list[dict[str, str]]) -> str | None:
    """The first SKU-like column with a value in any row, else one whose name ends in sku."""
    filled = {key for fields in rows for key, value in fields.items() if value}
    chosen = next((alias for alias in SKU_ALIASES if alias in filled), None)
    if chosen is None:
        chosen = next((key for fields in rows for key in fields
                       if key in filled and key.endswith("sku")), None)
    return chosen


def _check_sources(sources: dict[str, str], columns: list[str]) -> None:
    unknown = sorted({s for s in sources.values() if s not in columns})
    if unknown:
        raise CatalogError(f"No column {', '.join(unknown)} in the catalog; its columns are "
                           f"{', '.join(columns)}.")


def _from_records(path: Path, kind: str, records: Records, sources: dict[str, str]) -> Catalog:
    products, problems, column = plain_products(records, sources)
    return Catalog(path, kind, _columns(products, []), products, problems, sku_column=column)


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
        key = product.sku.casefold()
        if key in seen:
            catalog.problems.append(RowProblem(product.line, f"repeats SKU {product.sku!r} "
                                                             f"(first on line {seen[key]})."))
            continue
        seen[key] = product.line
        kept.append(product)
    catalog.products = kept
    catalog.problems.sort(key=lambda p: p.line)
