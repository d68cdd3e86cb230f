"""Shopify and WooCommerce product exports, flattened to one product per variant.

Both keep a product's title and description on its first (parent) row and only the option
values on each variant row, so a variant inherits the parent's non-empty fields.
"""

from __future__ import annotations

import re

from studio.batch.catalog_rows import Product, Records, RowProblem, column_key, strip_html


def _slug(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "-", text.lower()).strip("-")


def _merge(parent: dict[str, str], own: dict[str, str]) -> dict[str, str]:
    return {**parent, **{k: v for k, v in own.items() if v}}


def shopify_products(records: Records) -> tuple[list[Product], list[RowProblem]]:
    """Rows grouped by Handle: the first has Title and Body; later ones are variants or
    extra images (an image-only row has no option value and no SKU, and is skipped)."""
    products: list[Product] = []
    problems: list[RowProblem] = []
    parents: dict[str, dict[str, str]] = {}
    for record in records:
        if isinstance(record, RowProblem):
            problems.append(record)
            continue
        line, raw = record
        own = {column_key(k): str(v) for k, v in raw.items()}
        handle = own.get("handle", "")
        if not handle:
            problems.append(RowProblem(line, "has no Handle."))
            continue
        if own.get("title"):
            parents[handle] = {k: v for k, v in own.items() if not k.startswith("variant_")}
            parents[handle]["description"] = strip_html(own.get("body_html", ""))
        elif handle not in parents:
            problems.append(RowProblem(line, f"is a variant of {handle!r}, whose product row "
                                             "(with its Title) does not come before it."))
            continue
        values = [own.get(f"option{i}_value", "") for i in (1, 2, 3)]
        if not any(values) and not own.get("variant_sku"):
            continue  # an extra image of the product
        fields = _merge(parents[handle], own)
        fields["title"] = parents[handle].get("title", "")
        for i, value in enumerate(values, start=1):
            name = parents[handle].get(f"option{i}_name", "")
            if value and name and name.lower() != "title":  # "Title: Default Title"
                fields[column_key(name)] = value
        chosen = [v for v in values if v and v != "Default Title"]
        sku = own.get("variant_sku") or "-".join([handle, *map(_slug, chosen)])
        products.append(Product(line, sku, {**fields, "sku": sku}))
    return products, problems


def woocommerce_products(records: Records) -> tuple[list[Product], list[RowProblem]]:
    """simple/external rows are products; variation rows inherit their variable parent
    (named by `Parent` as `id:N` or its SKU). A variable product without variations in the
    file stands for itself."""
    problems: list[RowProblem] = []
    rows: list[tuple[int, dict[str, str]]] = []
    for record in records:
        if isinstance(record, RowProblem):
            problems.append(record)
        else:
            line, raw = record
            own = {column_key(k): str(v) for k, v in raw.items()}
            own["description"] = strip_html(own.get("description", ""))
            own["short_description"] = strip_html(own.get("short_description", ""))
            own["title"] = own.get("name", "")
            rows.append((line, own))
    parents: dict[str, dict[str, str]] = {}
    for _, own in rows:
        if "variable" in own.get("type", ""):
            for key in (f"id:{own.get('id', '')}", own.get("sku", "")):
                if key and key != "id:":
                    parents[key] = own
    with_variations: set[int] = set()
    products: list[tuple[int, Product]] = []
    for line, own in rows:
        kind = own.get("type", "")
        if "variation" in kind:
            parent = parents.get(own.get("parent", ""))
            if parent is None:
                problems.append(RowProblem(line, f"is a variation of {own.get('parent')!r}, "
                                                 "which is not in the catalog."))
                continue
            with_variations.add(id(parent))
            fields = _merge({k: v for k, v in parent.items() if k not in ("sku", "id")}, own)
            values = _attributes(own, fields)
            sku = own.get("sku") or "-".join([parent.get("sku") or parent.get("id", ""),
                                              *map(_slug, values)])
            products.append((line, Product(line, sku, {**fields, "sku": sku})))
        elif "variable" in kind:
            continue
        elif own.get("sku"):
            _attributes(own, own)
            products.append((line, Product(line, own["sku"], own)))
        else:
            problems.append(RowProblem(line, "has no SKU."))
    for line, own in rows:
        if "variable" in own.get("type", "") and id(own) not in with_variations:
            if own.get("sku"):
                products.append((line, Product(line, own["sku"], own)))
            else:
                problems.append(RowProblem(line, "has no SKU."))
    products.sort(key=lambda pair: pair[0])
    return [p for _, p in products], problems


def _attributes(own: dict[str, str], fields: dict[str, str]) -> list[str]:
    """`Attribute 1 name: Color` + `Attribute 1 value(s): Red` -> fields["color"] = "Red"."""
    values: list[str] = []
    for i in range(1, 10):
        name = own.get(f"attribute_{i}_name", "")
        value = own.get(f"attribute_{i}_value_s", "")
        if name and value:
            fields[column_key(name)] = value
            values.append(value)
    return values
