"""Safe file names for exported images: `{sku}/{sku}_{variant}.{ext}`.

A SKU comes from a spreadsheet, so it can hold anything: `../../etc`, `CON`, a slash, a
colon, an emoji. Every component is made safe on Windows, macOS and Linux, and names that
would collide (also when a file system ignores case) get `-2`, `-3` … in catalog order.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

MAX_COMPONENT = 80
# Windows refuses these as a name with any extension (`CON.jpg`, `com1.tar.gz`).
RESERVED = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
            *(f"COM{i}" for i in "0123456789¹²³"), *(f"LPT{i}" for i in "0123456789¹²³")}
_UNSAFE = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]+')


def safe_component(text: str, fallback: str = "item") -> str:
    """One path component that cannot escape its folder or name a device."""
    text = unicodedata.normalize("NFKC", text)
    text = _UNSAFE.sub("-", text)
    text = re.sub(r"\s+", " ", text).strip(" .-")
    text = re.sub(r"-{2,}", "-", text)
    if len(text) > MAX_COMPONENT:
        text = text[:MAX_COMPONENT].rstrip(" .")
    if not text or set(text) <= {".", "-", " "}:
        text = fallback
    if text.split(".")[0].upper().rstrip(" ") in RESERVED:
        text = f"_{text}"
    return text


def export_paths(pairs: Iterable[tuple[str, str]], extension: str) -> list[str]:
    """The relative POSIX path for each (sku, variant), in order, all distinct (ignoring case).

    The folder and the file share the SKU's safe name; when two SKUs only differ in what was
    made safe (`A/B` and `A-B`), the later one's folder gets a suffix.
    """
    folders: dict[str, str] = {}  # sku -> folder name
    taken_folders: set[str] = set()
    taken: set[str] = set()
    out: list[str] = []
    for sku, variant in pairs:
        if sku not in folders:
            base = safe_component(sku)
            name, n = base, 1
            while name.casefold() in taken_folders:
                n += 1
                name = f"{base}-{n}"
            folders[sku] = name
            taken_folders.add(name.casefold())
        folder = folders[sku]
        stem = f"{folder}_{safe_component(variant, 'variant')}"
        path, n = f"{folder}/{stem}.{extension}", 1
        while path.casefold() in taken:
            n += 1
            path = f"{folder}/{stem}-{n}.{extension}"
        taken.add(path.casefold())
        out.append(path)
    return out
