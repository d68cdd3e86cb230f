"""Shopify and WooCommerce product exports, flattened to one product per variant.

Both keep a product's title and description on its first (parent) row and only the option
values on each variant row, so a variant inherits the parent's non-empty fields. Each
variant's options are also one field, `options`, in words for a prompt ("Blue, with logo").
What is not a physical product (a download, a gift card, a group of other products) is
reported as skipped unless asked for.
"""

from __future__ import annotations

import re

from studio.batch.catalog_rows import Product, Records, RowProblem, column_key, strip_html


def _slug(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "-", text.lower()).strip("-")


def _merge(parent: dict[str, str], own: dict[str, str]) -> dict[str, str]:
    return {**parent, **{k: v for k, v in own.items() if v}}


def shopify_products(records: Records,
                     include_nonphysical: bool = False) -> tuple[list[Product], list[RowProblem]]:
    """Rows grouped by Handle: the first has Title and Body; later ones are variants or
    extra images (an image-only row has no option value and no SKU, and is skipped).

    A row's `Image Src` is a picture in the product's gallery, not the variant's: each
    variant's photo (`product_photo`) is its `Variant Image`, else the product's first
    image, else none (the product is then made from its text alone)."""
    products: list[Product] = []
    problems: list[RowProblem] = []
    parents: dict[str, dict[str, str]] = {}
    first_images = _shopify_first_images(records)
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
            parents[handle] = {k: v for k, v in own.items()
                               if not k.startswith(("variant_", "image_"))}
            parents[handle]["description"] = strip_html(own.get("body_html", ""))
            parents[handle].update(first_images.get(handle, {}))
        elif handle not in parents:
            problems.append(RowProblem(line, f"is a variant of {handle!r}, whose product row "
                                             "(with its Title) does not come before it."))
            continue
        values = [own.get(f"option{i}_value", "") for i in (1, 2, 3)]
        if not any(values) and not own.get("variant_sku"):
            continue  # an extra image of the product
        own = {k: v for k, v in own.items() if not k.startswith("image_")}
        fields = _merge(parents[handle], own)
        fields["title"] = parents[handle].get("title", "")
        chosen: list[tuple[str, str]] = []
        for i, value in enumerate(values, start=1):
            name = parents[handle].get(f"option{i}_name", "")
            if value and name and name.lower() != "title":  # "Title: Default Title"
                fields[column_key(name)] = value
                chosen.append((name, value))
        fields["options"] = describe_options(chosen)
        fields["product_photo"] = own.get("variant_image") or fields.get("image_src", "")
        slugs = [_slug(v) for v in values if v and v != "Default Title"]
        sku = own.get("variant_sku") or "-".join([handle, *slugs])
        why = None if include_nonphysical else _shopify_nonphysical(fields)
        if why:
            problems.append(RowProblem(line, f"{fields['title']!r} ({sku}) is {why}; "
                                             "--include-nonphysical keeps it."))
            continue
        products.append(Product(line, sku, {**fields, "sku": sku}))
    return products, problems


def _shopify_first_images(records: Records) -> dict[str, dict[str, str]]:
    """Each handle's first gallery image (lowest Image Position, else first in the file)."""
    best: dict[str, tuple[float, int, dict[str, str]]] = {}
    for order, record in enumerate(records):
        if isinstance(record, RowProblem):
            continue
        own = {column_key(k): str(v) for k, v in record[1].items()}
        handle, src = own.get("handle", ""), own.get("image_src", "")
        if not handle or not src:
            continue
        try:
            position = float(own.get("image_position") or "inf")
        except ValueError:
            position = float("inf")
        image = {k: v for k, v in own.items() if k.startswith("image_")}
        if handle not in best or (position, order) < best[handle][:2]:
            best[handle] = (position, order, image)
    return {handle: image for handle, (_, _, image) in best.items()}


def _shopify_nonphysical(fields: dict[str, str]) -> str | None:
    if fields.get("gift_card", "").lower() == "true":
        return "a gift card"
    if fields.get("variant_requires_shipping", "").lower() == "false":
        return "a product that needs no shipping (a download or a service)"
    return None


def describe_options(chosen: list[tuple[str, str]]) -> str:
    """Option values as words for a prompt: "Blue, with logo". A yes/no option becomes
    "with NAME" or nothing, never a bare "Yes"."""
    words: list[str] = []
    for name, value in chosen:
        answer = value.strip().lower()
        if answer in _YES:
            words.append(f"with {name.strip().lower()}")
        elif answer not in _NO:
            words.append(value.strip())
    return ", ".join(words)


_YES = {"yes", "y", "true", "on", "with"}
_NO = {"no", "n", "false", "off", "none", "without"}


def woocommerce_products(records: Records, include_nonphysical: bool = False,
                         ) -> tuple[list[Product], list[RowProblem]]:
    """simple/external rows are products; variation rows inherit their variable parent
    (named by `Parent` as `id:N` or its SKU). A variable product without variations in the
    file stands for itself. Virtual, downloadable and grouped products are skipped unless
    `include_nonphysical`.

    WooCommerce names a variation "V-Neck T-Shirt - Red": its `title` is the parent's name
    (the attributes are in their own columns, and in `options` as words); `name` keeps the
    name as exported."""
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
        if "variable" in _types(own):
            for key in (f"id:{own.get('id', '')}", own.get("sku", "")):
                if key and key != "id:":
                    parents[key] = own
    with_variations: set[int] = set()
    products: list[tuple[int, Product]] = []
    for line, own in rows:
        kinds = _types(own)
        why = None if include_nonphysical else _woo_nonphysical(kinds)
        if why:
            problems.append(RowProblem(line, f"{own['title']!r} is {why}; "
                                             "--include-nonphysical keeps it."))
            continue
        if "variation" in kinds:
            parent = parents.get(own.get("parent", ""))
            if parent is None:
                problems.append(RowProblem(line, f"is a variation of {own.get('parent')!r}, "
                                                 "which is not in the catalog."))
                continue
            with_variations.add(id(parent))
            fields = _merge({k: v for k, v in parent.items() if k not in ("sku", "id")}, own)
            chosen = _attributes(own, fields)
            fields["title"] = _variation_title(own.get("name", ""), parent.get("name", ""),
                                               [value for _, value in chosen])
            fields["options"] = describe_options(chosen)
            sku = own.get("sku") or "-".join([parent.get("sku") or parent.get("id", ""),
                                              *(_slug(value) for _, value in chosen)])
            products.append((line, Product(line, sku, {**fields, "sku": sku})))
        elif "variable" in kinds:
            continue
        elif own.get("sku"):
            own["options"] = describe_options(_attributes(own, own))
            products.append((line, Product(line, own["sku"], own)))
        else:
            problems.append(RowProblem(line, "has no SKU."))
    for line, own in rows:
        if "variable" in _types(own) and id(own) not in with_variations:
            if own.get("sku"):
                own["options"] = ""
                products.append((line, Product(line, own["sku"], own)))
            else:
                problems.append(RowProblem(line, "has no SKU."))
    products.sort(key=lambda pair: pair[0])
    problems.sort(key=lambda p: p.line)
    return [p for _, p in products], problems


def _types(own: dict[str, str]) -> set[str]:
    """`Type` holds a list: "simple, downloadable, virtual"."""
    return {part.strip().lower() for part in own.get("type", "").split(",") if part.strip()}


def _woo_nonphysical(kinds: set[str]) -> str | None:
    if "grouped" in kinds:
        return "a grouped product (a set of other products)"
    named = [kind for kind in ("virtual", "downloadable") if kind in kinds]
    return f"a {' and '.join(named)} product (nothing to photograph)" if named else None


def _variation_title(name: str, parent_name: str, values: list[str]) -> str:
    """"Hoodie - Blue, Yes" with values Blue and Yes -> "Hoodie"; a name of its own stays."""
    if not parent_name:
        return name
    head, sep, tail = name.partition(" - ")
    if not name or name == parent_name:
        return parent_name
    listed = {part.strip().casefold() for part in tail.split(",") if part.strip()}
    if sep and head.strip() == parent_name.strip() and listed <= {v.casefold() for v in values}:
        return parent_name
    return name


def _attributes(own: dict[str, str], fields: dict[str, str]) -> list[tuple[str, str]]:
    """`Attribute 1 name: Color` + `Attribute 1 value(s): Red` -> fields["color"] = "Red"."""
    chosen: list[tuple[str, str]] = []
    for i in range(1, 10):
        name = own.get(f"attribute_{i}_name", "")
        value = own.get(f"attribute_{i}_value_s", "")
        if name and value:
            fields[column_key(name)] = value
            chosen.append((name, value))
    return chosen
