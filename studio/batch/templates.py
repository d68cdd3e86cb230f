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
        """Fill the placeholders. An empty field takes the words that only led up to it
        with it ("{title} by {vendor}, photo" without a vendor is "Title, photo"), and
        leaves no dangling commas, brackets or double spaces."""
        parts: list[str] = []
        pieces = list(string.Formatter().parse(self.text))
        drop_conjunction = False
        for index, (literal, name, _, _) in enumerate(pieces):
            if drop_conjunction:  # "in {color} and {material}" without a colour: "in wool"
                literal = _CONJUNCTION.sub(" ", literal, count=1)
                drop_conjunction = False
            parts.append(literal)
            if name is None:
                continue
            value = values.get(column_key(name), "").strip()
            rest = _rendered(pieces[index + 1:], values)
            conjunction = _CONJUNCTION.match(rest)
            if not value and conjunction and not _phrase_ends(rest[conjunction.end():]):
                drop_conjunction = True
            elif not value and _phrase_ends(rest):
                parts[-1] = _SEPARATOR.sub("", _LEAD_IN.sub("", parts[-1]))
            elif not value:  # "{color} and {material} mug" without a material: no "and"
                parts[-1] = _TRAILING_CONJUNCTION.sub("", parts[-1])
            parts.append(value)
        text = "".join(parts)
        tail = [e for e in extra if e]
        if tail:
            text = f"{text.rstrip().rstrip(',')}, {', '.join(tail)}" if text.strip() else \
                ", ".join(tail)
        return _tidy(text)


# Words that only lead up to the field after them: dropped with an empty field.
_CONNECTORS = ("by", "in", "with", "for", "from", "of", "on", "at", "featuring", "and", "or",
               "&", "under", "over", "near", "against", "inside", "into", "onto", "beside",
               "via", "plus", "made of", "made from", "size", "sized", "colour", "color")
_DETERMINERS = ("a", "an", "the", "its", "their", "some")
_WORDS = "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in _CONNECTORS)
_DETS = "|".join(_DETERMINERS)
_LEAD_IN = re.compile(rf"(?:^|(?<=[\s,;(\[]))(?:(?:{_WORDS})(?:\s+(?:{_DETS}))?|(?:{_DETS}))"
                      r":?\s*$", re.IGNORECASE)
_SEPARATOR = re.compile(r"\s*[-–—|/,;:]\s*$")
_TRAILING_CONJUNCTION = re.compile(r"(?:^|(?<=\s))(?:and|or|&)\s*$", re.IGNORECASE)
_CONJUNCTION = re.compile(r"^\s*(?:and|or|&)(?:\s+|$)", re.IGNORECASE)
_NEXT_CONNECTOR = re.compile(rf"(?:{_WORDS})(?:\s|$)", re.IGNORECASE)


def _rendered(pieces: list[tuple[str, str | None, str | None, str | None]],
              values: Mapping[str, str]) -> str:
    return "".join(literal + (values.get(column_key(name), "").strip() if name else "")
                   for literal, name, _, _ in pieces)


def _phrase_ends(after: str) -> bool:
    """Nothing, punctuation or another connecting word follows: the empty field ended a
    phrase, so the words before it led nowhere. (A word follows in "a {color} mug": there
    the field was an adjective and the words around it stand.)"""
    rest = after.lstrip()
    return not rest or rest[0] in ",.;:!?)]|/-–—" or bool(_NEXT_CONNECTOR.match(rest))


def _tidy(text: str) -> str:
    """Spaces and punctuation left where fields came out empty, until nothing changes."""
    while True:
        tidied = text
        for pattern, replacement in _TIDY:
            tidied = pattern.sub(replacement, tidied)
        tidied = _ENDS.sub("", tidied)
        if tidied == text:
            return text
        text = tidied


_TIDY = [(re.compile(pattern), replacement) for pattern, replacement in (
    (r"[ \t]+", " "),
    (r"\(\s*\)|\[\s*\]", ""),  # brackets around an empty field
    (r"\s+([,;:.!?)\]])", r"\1"),
    (r"([(\[])\s+", r"\1"),
    (r"(?:\s+[-–—|/])+\s*([,;:.])", r"\1"),  # "tee - , studio"
    (r"([,;:])(?:\s*[,;:])+", r"\1"),  # "tee, , studio"
    (r"\s+([-–—|/])(?:\s*[-–—|/])+\s+", r" \1 "),  # "tee - | studio"
)]
_ENDS = re.compile(r"^[\s,;:|/\-–—]+|[\s,;:|/\-–—]+$")


def preview(template: Template, products: Iterable[Product], limit: int = 5) -> list[str]:
    """The first products' rendered prompts, as the preview shows them."""
    out: list[str] = []
    for product in products:
        if len(out) >= limit:
            break
        out.append(f"{product.sku}: {template.render(product.fields)}")
    return out
