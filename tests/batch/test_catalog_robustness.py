"""No catalog input gives a traceback: it loads, or it is a CatalogError (exit 2) that says
which line or element is wrong."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studio.batch.catalog import Catalog, CatalogError, load_catalog
from studio.batch.catalog_text import sniff_delimiter
from studio.cli.main import main

SUFFIXES = (".csv", ".txt", ".json", ".jsonl", ".tsv")
FAST = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def load_or_refuse(folder: Path, name: str, data: bytes) -> Catalog | CatalogError:
    path = folder / name
    path.write_bytes(data)
    try:
        return load_catalog(path)
    except CatalogError as exc:
        assert str(exc)
        return exc


@FAST
@given(data=st.binary(max_size=600), suffix=st.sampled_from(SUFFIXES),
       prefix=st.sampled_from([b"", b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf", b"sku,title\n",
                               b"[", b"{", b'{"sku": "a"}\n']))
def test_arbitrary_bytes_load_or_are_refused(tmp_path: Path, data: bytes, suffix: str,
                                             prefix: bytes) -> None:
    result = load_or_refuse(tmp_path, f"c{suffix}", prefix + data)
    if isinstance(result, Catalog):
        assert all(product.sku for product in result.products)
        assert len({p.sku.casefold() for p in result.products}) == len(result.products)


HEADERS = {
    "sheet": ["sku", "title", "image"],
    "shopify": ["Handle", "Title", "Option1 Name", "Option1 Value", "Variant SKU", "Image Src",
                "Image Position", "Variant Image", "Gift Card", "Variant Requires Shipping"],
    "woocommerce": ["ID", "Type", "SKU", "Name", "Parent", "Attribute 1 name",
                    "Attribute 1 value(s)", "Images"],
}
# Cells that steer the shop readers down their branches, and anything else.
shop_cells = st.sampled_from(["", "x", "a-1", "Title", "Default Title", "TRUE", "FALSE", "1",
                              "-2", "nan", "variable", "variation", "simple, virtual",
                              "grouped", "id:1", "id:", "Color", "Red", "Yes", "x - Red, Yes"])
csv_cells = shop_cells | st.text(alphabet=st.characters(blacklist_categories=("Cs",)),
                                 max_size=12)


@FAST
@given(kind=st.sampled_from(sorted(HEADERS)), data=st.data(),
       delimiter=st.sampled_from(",;\t|"), quote=st.booleans())
def test_arbitrary_sheets_and_shop_exports_load_or_are_refused(
        tmp_path: Path, kind: str, data: st.DataObject, delimiter: str, quote: bool) -> None:
    header = HEADERS[kind]
    width = st.integers(min_value=len(header) - 1, max_value=len(header) + 1)
    rows = data.draw(st.lists(width.flatmap(lambda n: st.lists(csv_cells, min_size=n,
                                                               max_size=n)), max_size=6))

    def cell(text: str) -> str:
        return '"' + text.replace('"', '""') + '"' if quote else text

    text = "\n".join(delimiter.join(map(cell, row)) for row in [header, *rows])
    result = load_or_refuse(tmp_path, "c.csv", text.encode("utf-8"))
    if isinstance(result, Catalog):
        assert len({p.sku.casefold() for p in result.products}) == len(result.products)


json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=30)


@FAST
@given(value=json_values, as_lines=st.booleans())
def test_arbitrary_json_structures_load_or_are_refused(tmp_path: Path, value: object,
                                                       as_lines: bool) -> None:
    if as_lines:
        items = value if isinstance(value, list) else [value]
        data = "\n".join(json.dumps(item) for item in items) + "\n"
        load_or_refuse(tmp_path, "c.jsonl", data.encode("utf-8"))
    else:
        load_or_refuse(tmp_path, "c.json", json.dumps(value).encode("utf-8"))


@FAST
@given(depth=st.integers(min_value=1, max_value=3000), wrap=st.sampled_from("[{"),
       as_lines=st.booleans())
def test_nesting_of_any_depth_is_a_product_or_a_reported_problem(
        tmp_path: Path, depth: int, wrap: str, as_lines: bool) -> None:
    opened = '{"x": ' * depth if wrap == "{" else "[" * depth
    closed = "}" * depth if wrap == "{" else "]" * depth
    product = '{"sku": "deep", "v": ' + opened + "1" + closed + "}"
    if as_lines:
        result = load_or_refuse(tmp_path, "c.jsonl", f'{{"sku": "ok"}}\n{product}\n'.encode())
        assert isinstance(result, Catalog) and result.products[0].sku == "ok"
        if depth >= 16:
            assert str(result.problems[0]).startswith("line 2: nests deeper")
    else:
        load_or_refuse(tmp_path, "c.json", f"[{product}]".encode())


def test_the_reported_inputs(tmp_path: Path) -> None:
    """Each input the issue found crashing the loader, as a CatalogError or a row problem."""
    utf16 = b"\xff\xfe" + "sku,title\nA1,Tote\n".encode("utf-16-le")
    with pytest.raises(CatalogError, match="UTF-16 but has an odd number of bytes"):
        load_catalog(write(tmp_path, "odd.csv", utf16 + b"x"))
    with pytest.raises(CatalogError, match="Line 3 of the UTF-16 catalog"):
        load_catalog(write(tmp_path, "bad16.csv", utf16 + b"\x00\xd8A\x00"))

    huge = "x" * 131_073
    catalog = load_catalog(write(tmp_path, "cell.csv", f"sku,title\nA1,{huge}\nB2,Mug\n"))
    assert [p.sku for p in catalog.products] == ["B2"]
    assert str(catalog.problems[0]).startswith("line 2: has a cell over 131,072 characters")
    with pytest.raises(CatalogError, match=r"header .*\(line 1\) has a cell over"):
        load_catalog(write(tmp_path, "head.csv", f"sku,{huge}\nA1,x\n"))

    megabyte_line = ',"' * 500_000
    started = time.monotonic()
    catalog = load_catalog(write(tmp_path, "mb.csv", f"sku,title\n{megabyte_line}\nB2,Mug\n"))
    assert time.monotonic() - started < 5
    assert [p.sku for p in catalog.products] == ["B2"]
    assert str(catalog.problems[0]).startswith("line 2: has 250001 cells, the header has 2")

    with pytest.raises(CatalogError, match=r"nests too deeply .*\(near line 2\)"):
        load_catalog(write(tmp_path, "deep.json", "[\n" + "[" * 50_000 + "]" * 50_000 + "]"))
    catalog = load_catalog(write(tmp_path, "deep.jsonl",
                                 '{"sku": "A1"}\n' + '{"a": ' * 50_000 + "1" + "}" * 50_000))
    assert [str(p) for p in catalog.problems] == ["line 2: nests deeper than 16 levels."]


@pytest.mark.parametrize("name,data,message", [
    ("empty.csv", b"", "is empty"),
    ("blank.json", b" \n\t\n", "is empty"),
    ("blank.csv", b"\n\n,,\n", "is empty"),
    ("junk.csv", bytes(range(256)) * 4, "Line 1 of the catalog holds binary data"),
    ("late-nul.csv", b"sku,title\nA1,Tote\nB2,M\x00ug\n", "Line 3 .* binary data"),
    ("book.xlsx", b"PK\x03\x04\x14\x00\x06\x00", "zip file .* save the sheet as CSV"),
    ("number.json", b"42", "a list of products"),
    ("text.json", b'"products"', "a list of products"),
    ("digits.json", b'[{"sku": ' + b"9" * 5000 + b"}]", "not usable JSON"),
    ("broken.json", b'[\n{"sku": "A1"},\n{"sku": \n', "not valid JSON.*line 4"),
])
def test_unusable_files_say_what_is_wrong(tmp_path: Path, name: str, data: bytes,
                                          message: str) -> None:
    with pytest.raises(CatalogError, match=message):
        load_catalog(write(tmp_path, name, data))


def test_minified_json_problems_name_the_element(tmp_path: Path) -> None:
    catalog = load_catalog(write(tmp_path, "m.json", '[{"sku": "A1"}, 7, {"sku": "B2"}]'))
    assert [p.sku for p in catalog.products] == ["A1", "B2"]
    assert [str(p) for p in catalog.problems] == \
        ["line 1, element 2: is not a product object (got a number)."]


@pytest.mark.parametrize("line", [',"' * 2048, ",'\"" * 1400, '\t"x\t' * 1000, ', "' * 1400])
def test_the_delimiter_guess_is_fast_on_lines_that_make_csv_sniffer_backtrack(
        line: str) -> None:
    started = time.monotonic()
    sniff_delimiter("\n".join([line] * 20))
    assert time.monotonic() - started < 1


def test_the_cli_exits_2_naming_the_problem(tmp_path: Path, capsys) -> None:
    path = write(tmp_path, "odd.csv", b"\xff\xfe" + "sku\nA\n".encode("utf-16-le") + b"!")
    assert main(["batch", str(path), "--template", "{sku}", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "odd number of bytes" in err and "Traceback" not in err


def write(folder: Path, name: str, data: str | bytes) -> Path:
    path = folder / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path
