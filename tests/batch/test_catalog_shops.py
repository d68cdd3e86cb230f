"""Real shop exports: Shopify's own product template and WooCommerce's sample products, as
they ship (tests/batch/data), read into products and prompts that read well."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from backends.errors import InvalidRequest
from studio.batch.catalog import load_catalog
from studio.batch.plan import BatchSpec, prepare_batch
from studio.batch.products import product_photo_column

DATA = Path(__file__).parent / "data"
SHOPIFY = DATA / "shopify_product_template.csv"
WOO = DATA / "woocommerce_sample_products.csv"
BURST = "https://burst.shopifycdn.com/photos/"
WOO_UPLOADS = "https://woocommercecore.mystagingwebsite.com/wp-content/uploads/2017/12/"


def prompts(path: Path, template: str, **load: bool) -> dict[str, str]:
    catalog = load_catalog(path, **load)
    spec = BatchSpec(catalog=str(path), out="", template=template)
    return {item.sku: item.prompt for item in prepare_batch(catalog, spec, None).items}


def test_shopify_template_one_product_per_variant_with_its_own_photo() -> None:
    catalog = load_catalog(SHOPIFY)
    assert catalog.kind == "shopify"
    skus = [p.sku for p in catalog.products]
    assert skus == [f"SRT_COT_{c}{s}" for c in "1234" for s in ("11", "22", "33")] + \
        ["PNT_DEN_285", "PNT_DEN_305", "PNT_DEN_405", "HAT_GRY_275"]
    assert catalog.problems == []  # line 17 is an extra image of the jeans, not a product
    photo = {p.sku: p.fields["product_photo"] for p in catalog.products}
    # Blue M's row has the grey t-shirt as its gallery Image Src; its Variant Image is blue.
    assert photo["SRT_COT_222"] == f"{BURST}cobalt-blue-t-shirt.jpg?width=1500"
    assert photo["SRT_COT_111"] == f"{BURST}green-t-shirt.jpg?width=1500"
    assert photo["SRT_COT_311"] == f"{BURST}grey-t-shirt.jpg?width=1500"
    assert photo["PNT_DEN_305"] == f"{BURST}woman-puts-hand-in-pocket.jpg?width=1500"
    # No Variant Image: the product's first image (Image Position 1).
    assert photo["HAT_GRY_275"] == f"{BURST}kids-beanie.jpg?width=1500"
    blue_m = next(p for p in catalog.products if p.sku == "SRT_COT_222").fields
    assert (blue_m["title"], blue_m["color"], blue_m["size"], blue_m["vendor"]) == \
        ("Example T-Shirt", "Blue", "M", "Acme")
    assert blue_m["image_src"] == f"{BURST}tshirts.jpg?width=1500"  # the product's, not row 6's
    assert blue_m["description"].startswith("This t-shirt is as simple as it gets.")
    choice = product_photo_column(catalog)
    assert (choice.column, choice.with_photo, choice.without_photo) == ("product_photo", 16, 0)


def test_shopify_template_prompts_read_well() -> None:
    made = prompts(SHOPIFY, "{title} in {color}, size {size}, by {vendor}, studio photo")
    assert made["SRT_COT_222"] == "Example T-Shirt in Blue, size M, by Acme, studio photo"
    assert made["PNT_DEN_285"] == "Example Jeans, size 28, by Acme, studio photo"
    assert made["HAT_GRY_275"] == "Example Beanie, by Acme, studio photo"
    options = prompts(SHOPIFY, "{title}, {options}")
    assert (options["SRT_COT_433"], options["HAT_GRY_275"]) == \
        ("Example T-Shirt, Purple, L", "Example Beanie")


def test_shopify_store_without_photos_yet_is_made_from_text(tmp_path: Path) -> None:
    with SHOPIFY.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        row["Image Src"] = row["Variant Image"] = ""
    path = tmp_path / "products_export.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    catalog = load_catalog(path)
    assert len(catalog.products) == 16 and catalog.problems == []
    choice = product_photo_column(catalog)
    assert choice.column is None
    assert "no product photos" in choice.note and "made from its text" in choice.note


def test_woocommerce_sample_variations_do_not_repeat_their_attributes() -> None:
    made = prompts(WOO, "a {color} {title}, product photo")
    assert made["woo-vneck-tee-red"] == "a Red V-Neck T-Shirt, product photo"
    assert made["woo-hoodie-blue-logo"] == "a Blue Hoodie, product photo"
    assert made["woo-belt"] == "a Belt, product photo"
    assert made["woo-hoodie-with-logo"] == "a Blue Hoodie with Logo, product photo"
    options = prompts(WOO, "{title}, {options}, product photo")
    assert options["woo-hoodie-blue-logo"] == "Hoodie, Blue, with logo, product photo"
    assert options["woo-hoodie-red"] == "Hoodie, Red, product photo"  # "Logo: No" says nothing
    assert options["wp-pennant"] == "WordPress Pennant, product photo"


def test_woocommerce_sample_skips_what_is_not_a_physical_product() -> None:
    catalog = load_catalog(WOO)
    assert catalog.kind == "woocommerce"
    assert [str(p) for p in catalog.problems] == [
        "line 14: 'Album' is a virtual and downloadable product (nothing to photograph); "
        "--include-nonphysical keeps it.",
        "line 15: 'Single' is a virtual and downloadable product (nothing to photograph); "
        "--include-nonphysical keeps it.",
        "line 24: 'Logo Collection' is a grouped product (a set of other products); "
        "--include-nonphysical keeps it."]
    skus = [p.sku for p in catalog.products]
    assert len(skus) == 20 and "woo-vneck-tee" not in skus  # the parent of its variations
    everything = load_catalog(WOO, include_nonphysical=True)
    assert everything.problems == []
    assert {"woo-album", "woo-single", "logo-collection"} <= {p.sku for p in everything.products}


def test_woocommerce_sample_photos_are_each_variations_own() -> None:
    catalog = load_catalog(WOO)
    choice = product_photo_column(catalog)
    assert (choice.column, choice.with_photo) == ("images", 20)
    scenes_photo = {p.sku: p.fields["images"].split(",")[0] for p in catalog.products}
    assert scenes_photo["woo-vneck-tee-green"] == f"{WOO_UPLOADS}vnech-tee-green-1.jpg"
    assert scenes_photo["woo-hoodie-blue-logo"] == f"{WOO_UPLOADS}hoodie-with-logo-2.jpg"


def test_photo_modes(tmp_path: Path) -> None:
    catalog = load_catalog(SHOPIFY)
    assert product_photo_column(catalog, "off").column is None
    assert product_photo_column(catalog, "Image Src").column == "image_src"
    assert product_photo_column(catalog, "variant_image").with_photo == 15  # not the beanie
    with pytest.raises(InvalidRequest, match="no column 'Photo' for --product-images"):
        product_photo_column(catalog, "Photo")
    sheet = tmp_path / "c.csv"
    sheet.write_text("sku,title,image\nA1,Tote,a.png\nB2,Mug,\n", encoding="utf-8")
    partly = product_photo_column(load_catalog(sheet))
    assert (partly.column, partly.with_photo, partly.without_photo) == ("image", 1, 1)
    assert "1 of 2 products have no photo and are made from their text" in partly.note


def test_a_plan_over_the_woocommerce_sample_with_an_axis() -> None:
    catalog = load_catalog(WOO)
    spec = BatchSpec(catalog=str(WOO), out="", template="{title} in {color}",
                     axes=[("scene", ["on a white wall"])])
    items = prepare_batch(catalog, spec, None).items
    by_sku = {i.sku: i.prompt for i in items}
    assert by_sku["woo-vneck-tee-blue"] == "V-Neck T-Shirt in Blue, on a white wall"
    assert by_sku["woo-sunglasses"] == "Sunglasses, on a white wall"
