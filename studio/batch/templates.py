"""Prompt templates: `{column}` placeholders filled from each product's fields.

`{{` and `}}` are literal braces. Names are matched as catalog column keys, so `{Color}`
and `{color}` are the same placeholder. Axis names (from the variant matrix) are known
placeholders too; an axis a template does not mention is appended to the prompt.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from backends.errors import InvalidRequest
from studio.batch.catalog import Product, column_key


class TemplateError(InvalidRequest):
    pass


@dataclass(frozen=True)
class Template:
    text: str
    fields: tuple[str, ...]

    @classmethod
    def parse(cls, text: str, known: Iterable[str], *, what: str = "template") -> Template:
        known_keys = list(dict.fromkeys(known))
        fields: list[str] = []
        try:
            parsed = list(string.Formatter().parse(text))
        except ValueError as exc:
            raise TemplateError(f"The {what} has an unmatched brace ({exc}); write {{{{ or }}}} "
                                "for a literal brace.") from exc
        for _, name, spec, conversion in parsed:
            if name is None:
                continue
            if spec or conversion or not name.strip():
                raise TemplateError(f"The {what} placeholder {{{name}}} is not a column name; "
                                    f"known columns: {', '.join(known_keys)}.")
            fields.append(column_key(name))
        unknown = [f for f in dict.fromkeys(fields) if f not in known_keys]
        if unknown:
            raise TemplateError(
                f"The {what} names unknown column{'s' if len(unknown) > 1 else ''} "
                f"{', '.join('{' + u + '}' for u in unknown)}; known columns: "
                f"{', '.join(known_keys)}.")
        return cls(text, tuple(dict.fromkeys(fields)))

    def render(self, values: Mapping[str, str], extra: Iterable[str] = ()) -> str:
        """Fill the placeholders; empty fields leave no dangling commas or double spaces."""
        parts: list[str] = []
        for literal, name, _, _ in string.Formatter().parse(self.text):
            parts.append(literal)
            if name is not None:
                parts.append(values.get(column_key(name), ""))
        text = "".join(parts)
        tail = [e for e in extra if e]
        if tail:
            text = f"{text.rstrip().rstrip(',')}, {', '.join(tail)}" if text.strip() else \
                ", ".join(tail)
        return _tidy(text)


def _tidy(text: str) -> str:
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r"\s+,", ",", text)
    text = re.sub(r",(\s*,)+", ",", text)
    return text.strip().strip(",").strip()


def preview(template: Template, products: Iterable[Product], limit: int = 5) -> list[str]:
    """The first products' rendered prompts, as the preview shows them."""
    out: list[str] = []
    for product in products:
        if len(out) >= limit:
            break
        out.append(f"{product.sku}: {template.render(product.fields)}")
    return out
