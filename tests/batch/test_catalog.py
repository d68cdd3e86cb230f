"""Catalog import: formats, encodings, delimiters, exports, mapping and bad rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from studio.batch.catalog import CatalogError, load_catalog, parse_mapping

SHOPIFY = (
    "Handle,Title,Body (HTML),Vendor,Type,Tags,Option1 Name,Option1 Value,Option2 Name,"
    "Option2 Value,Variant SKU,Variant Price,Image Src\n"
    "linen-shirt,Linen Shirt,<p>Breezy <b>linen</b> &amp; cool</p>,Acme,Shirts,summer,Color,"
    "Sand,Size,M,LS-SAND-M,49.00,https://x/1.jpg\n"
    "linen-shirt,,,,,,,Sand,,L,LS-SAND-L,49.00,\n"
    "linen-shirt,,,,,,,Olive,,M,,49.00,\n"
    "linen-shirt,,,,,,,,,,,,https://x/2.jpg\n"
    "mug,Stone Mug,<p>Glazed</p>,Acme,Kitchen,,Title,Default Title,,,MUG-1,12.00,\n"
    "orphan,,,,,,,Red,,,ORPH-1,1.00,\n"
)

WOO = (
    "ID,Type,SKU,Name,Short description,Description,Parent,Attribute 1 name,"
    "Attribute 1 value(s),Attribute 2 name,Attribute 2 value(s)\n"
    "10,variable,HOOD,Hoodie,Warm,<p>A <em>warm</em> hoodie</p>,,Color,\"Blue, Grey\",Size,"
    "\"S, M\"\n"
    "11,variation,HOOD-BLUE-S,Hoodie - Blue S,,,id:10,Color,Blue,Size,S\n"
    "12,variation,,Hoodie - Grey M,,,HOOD,Color,Grey,Size,M\n"
    "13,simple,CAP-1,Cap,Shade,<p>Cotton cap</p>,,Color,Black,,\n"
    "14,variation,LOST-1,Lost,,,id:99,Color,Red,,\n"
    "15,variable,BAG,Bag,,,,Color,\"Tan\",,\n"
)


def write(tmp_path: Path, name: str, data: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def test_plain_sheet(tmp_path: Path) -> None:
    catalog = load_catalog(write(tmp_path, "c.csv", "SKU,Title,Color,Material\n"
                                 "A1,Tote,tan,leather\nB2,Mug,grey,stone\n"))
    assert catalog.kind == "sheet"
    assert [p.sku for p in catalog.products] == ["A1", "B2"]
    assert catalog.products[0].fields["material"] == "leather"
    assert catalog.columns[:4] == ["sku", "title", "color", "material"]
    assert catalog.products[1].line == 3


@pytest.mark.parametrize("encoding,bom", [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"),
                                          ("cp1252", b""), ("latin-1", b""),
                                          ("utf-16", b"")])
def test_encodings(tmp_path: Path, encoding: str, bom: bytes) -> None:
    text = "sku;title;colour\nCAFÉ-1;Café crème;Bleu été\n"
    catalog = load_catalog(write(tmp_path, "c.csv", bom + text.encode(encoding)))
    assert catalog.delimiter == ";"
    product = catalog.products[0]
    assert (product.sku, product.fields["title"], product.fields["colour"]) == \
        ("CAFÉ-1", "Café crème", "Bleu été")
    assert "sku" in catalog.columns and "\ufeffsku" not in catalog.columns


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters(tmp_path: Path, delimiter: str) -> None:
    rows = [["sku", "title", "notes"], ["A1", "Tote", "big, roomy"], ["B2", "Mug", "small"]]
    text = "\n".join(delimiter.join(f'"{c}"' if "," in c else c for c in row) for row in rows)
    catalog = load_catalog(write(tmp_path, "c.txt", text + "\n"))
    assert catalog.delimiter == delimiter
    assert catalog.products[0].fields["notes"] == "big, roomy"


def test_bad_rows_are_reported_with_line_numbers_and_skipped(tmp_path: Path) -> None:
    text = ("sku,title,description\n"
            "A1,Tote,\"two\nlines\"\n"      # lines 2-3, fine
            ",Nameless,x\n"                  # line 4: no SKU
            "B2,Mug,x,extra\n"               # line 5: too many cells
            "\n"
            "a1,Again,x\n"                   # line 7: repeats A1 (ignoring case)
            "C3,Cap,x\n")
    catalog = load_catalog(write(tmp_path, "c.csv", text))
    assert [p.sku for p in catalog.products] == ["A1", "C3"]
    assert catalog.products[1].line == 8
    assert [(p.line, p.message.split(" ")[0]) for p in catalog.problems] == \
        [(4, "has"), (5, "has"), (7, "repeats")]
    assert "line 7: repeats SKU 'a1' (first on line 2)." in [str(p) for p in catalog.problems]


def test_json_array_and_wrapper(tmp_path: Path) -> None:
    data = '[\n  {"sku": "A1", "title": "Tote", "attrs": {"color": "tan"}, "tags": ["a", "b"]},' \
           '\n  "oops",\n  {"title": "no sku"}\n]'
    catalog = load_catalog(write(tmp_path, "c.json", data))
    assert catalog.kind == "json"
    assert catalog.products[0].fields["attrs_color"] == "tan"
    assert catalog.products[0].fields["tags"] == "a, b"
    assert [str(p).split(":")[0] for p in catalog.problems] == ["line 3", "line 4"]
    wrapped = load_catalog(write(tmp_path, "w.json", json.dumps({"products": [{"id": 7}]})))
    assert wrapped.products[0].sku == "7"


def test_jsonl_with_a_broken_line(tmp_path: Path) -> None:
    catalog = load_catalog(write(tmp_path, "c.jsonl", '{"sku": "A1"}\n{broken\n\n{"sku": "B2"}\n'))
    assert [p.sku for p in catalog.products] == ["A1", "B2"]
    assert catalog.products[1].line == 4
    assert [p.line for p in catalog.problems] == [2]


def test_unreadable_catalogs(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="cannot be read"):
        load_catalog(tmp_path / "missing.csv")
    with pytest.raises(CatalogError, match="not valid JSON"):
        load_catalog(write(tmp_path, "c.json", "[{"))
    with pytest.raises(CatalogError, match="empty"):
        load_catalog(write(tmp_path, "e.csv", ""))


def test_shopify_export_with_variant_rows(tmp_path: Path) -> None:
    catalog = load_catalog(write(tmp_path, "products_export.csv", SHOPIFY))
    assert catalog.kind == "shopify"
    by_sku = {p.sku: p for p in catalog.products}
    assert list(by_sku) == ["LS-SAND-M", "LS-SAND-L", "linen-shirt-olive-m", "MUG-1"]
    large = by_sku["LS-SAND-L"].fields
    assert (large["title"], large["color"], large["size"], large["vendor"]) == \
        ("Linen Shirt", "Sand", "L", "Acme")
    assert large["description"] == "Breezy linen & cool"
    assert by_sku["linen-shirt-olive-m"].fields["color"] == "Olive"
    assert by_sku["MUG-1"].fields["title"] == "Stone Mug"  # not "Default Title"
    assert [p.line for p in catalog.problems] == [7]
    assert "orphan" in catalog.problems[0].message
    assert {"title", "color", "size", "description", "vendor"} <= set(catalog.columns)


def test_woocommerce_export(tmp_path: Path) -> None:
    catalog = load_catalog(write(tmp_path, "wc-product-export.csv", WOO))
    assert catalog.kind == "woocommerce"
    by_sku = {p.sku: p for p in catalog.products}
    assert list(by_sku) == ["HOOD-BLUE-S", "HOOD-grey-m", "CAP-1", "BAG"]
    blue = by_sku["HOOD-BLUE-S"].fields
    assert (blue["color"], blue["size"], blue["description"], blue["title"]) == \
        ("Blue", "S", "A warm hoodie", "Hoodie - Blue S")
    assert by_sku["CAP-1"].fields["color"] == "Black"
    assert [p.line for p in catalog.problems] == [6]


def test_column_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "c.csv", "Item Code,Name,Shade\nX-1,Tote,tan\nX-2,Mug,\n")
    catalog = load_catalog(path, parse_mapping(["sku=Item Code", "color=Shade"]))
    assert [p.sku for p in catalog.products] == ["X-1", "X-2"]
    assert catalog.products[0].fields["color"] == "tan"
    assert "color" in catalog.columns
    with pytest.raises(CatalogError, match="No column nope.*item_code, name, shade"):
        load_catalog(path, parse_mapping(["sku=Nope"]))
    with pytest.raises(CatalogError, match="look like"):
        parse_mapping(["sku"])


def test_sheet_without_a_sku_column_says_how_to_map(tmp_path: Path) -> None:
    catalog = load_catalog(write(tmp_path, "c.csv", "Name,Shade\nTote,tan\n"))
    assert not catalog.products
    assert "--map sku=COLUMN" in str(catalog.problems[0])


MARKETPLACE = (  # the shape of a 20,000-row marketplace sheet: no `sku`, a `pid`
    "uniq_id,crawl_timestamp,product_url,product_name,pid,retail_price,image,brand\n"
    "c2d766ca982eca8304150849735ffef9,2016-03-25 22:59:23 +0000,http://x/p1,"
    "Alisha Solid Women's Cycling Shorts,SRTEH2FF9KEDEFGF,999,"
    "\"[\"\"http://img.x/1.jpeg\"\", \"\"http://img.x/2.jpeg\"\"]\",Alisha\n"
    "7f7036a6d550aaa89d34c77bd39a5e48,2016-03-25 22:59:23 +0000,http://x/p2,"
    "FabHomeDecor Fabric Double Sofa Bed,SBEEH3QGU7MFYJFY,32157,,FabHomeDecor\n"
)


@pytest.mark.parametrize("column", ["pid", "uniq_id", "product_id", "item_id", "ASIN", "GTIN",
                                    "Item Code", "barcode"])
def test_a_sku_like_column_is_found_by_itself_and_named(tmp_path: Path, column: str) -> None:
    catalog = load_catalog(write(tmp_path, "c.csv", f"Name,{column}\nTote,T-1\nMug,M-2\n"))
    assert [p.sku for p in catalog.products] == ["T-1", "M-2"]
    key = column.lower().replace(" ", "_")
    assert catalog.sku_column == key
    assert f"SKU from column {key!r}" in catalog.describe()


def test_a_marketplace_sheet_takes_pid_over_its_other_ids(tmp_path: Path) -> None:
    catalog = load_catalog(write(tmp_path, "flipkart.csv", MARKETPLACE))
    assert [p.sku for p in catalog.products] == ["SRTEH2FF9KEDEFGF", "SBEEH3QGU7MFYJFY"]
    assert catalog.sku_column == "pid" and not catalog.problems
    assert catalog.describe() == "sheet, 2 products (utf-8, ','), SKU from column 'pid'"
    from studio.batch.products import image_value, product_photo_column

    choice = product_photo_column(catalog)
    assert (choice.column, choice.with_photo, choice.without_photo) == ("image", 1, 1)
    assert image_value("image", catalog.products[0].fields["image"]) == "http://img.x/1.jpeg"


def test_one_sku_column_for_the_whole_sheet(tmp_path: Path) -> None:
    """A row with an empty `sku` is reported, not given its `id` while others use `sku`."""
    catalog = load_catalog(write(tmp_path, "c.csv", "sku,id,title\nA1,1,Tote\n,2,Mug\n"))
    assert [p.sku for p in catalog.products] == ["A1"]
    assert str(catalog.problems[0]) == ("line 3: has no SKU in column 'sku'; map one with "
                                        "--map sku=COLUMN.")
    assert catalog.describe() == "sheet, 1 product (utf-8, ',')"


def test_shopify_gift_cards_and_products_without_shipping_are_skipped_unless_asked(
        tmp_path: Path) -> None:
    path = write(tmp_path, "products_export.csv", (
        "Handle,Title,Option1 Name,Option1 Value,Variant SKU,Variant Requires Shipping,"
        "Gift Card\n"
        "card,Gift Card,Denominations,$10,GC-10,FALSE,TRUE\n"
        "ebook,Style Guide,Title,Default Title,EB-1,FALSE,FALSE\n"
        "mug,Stone Mug,Title,Default Title,MUG-1,TRUE,FALSE\n"))
    catalog = load_catalog(path)
    assert [p.sku for p in catalog.products] == ["MUG-1"]
    assert [str(p) for p in catalog.problems] == [
        "line 2: 'Gift Card' (GC-10) is a gift card; --include-nonphysical keeps it.",
        "line 3: 'Style Guide' (EB-1) is a product that needs no shipping (a download or a "
        "service); "
        "--include-nonphysical keeps it."]
    assert len(load_catalog(path, include_nonphysical=True).products) == 3
