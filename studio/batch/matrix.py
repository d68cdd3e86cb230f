"""The variant matrix: named axes × seeds, and what a whole batch is estimated to take."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from backends.errors import InvalidRequest
from backends.types import MAX_SEED
from studio.batch.catalog import column_key
from studio.formatting import format_duration, format_usd


@dataclass(frozen=True)
class Axis:
    name: str
    values: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> Axis:
        """`background=white studio|marble counter`."""
        name, sep, values = text.partition("=")
        choices = tuple(dict.fromkeys(v.strip() for v in values.split("|") if v.strip()))
        if not sep or not name.strip() or not choices:
            raise InvalidRequest(f"An axis looks like background=white studio|marble counter "
                                 f"(got {text!r}).")
        return cls(column_key(name), choices)


@dataclass(frozen=True)
class Variant:
    values: tuple[tuple[str, str], ...]  # (axis, value) in axis order
    seed_index: int
    seed: int

    @property
    def name(self) -> str:
        """`marble-counter_minimal_s2`: axis values then the seed's position (from 1)."""
        slugs = [re.sub(r"[^0-9a-z]+", "-", v.lower()).strip("-") or "x" for _, v in self.values]
        return "_".join([*slugs, f"s{self.seed_index + 1}"])

    def as_fields(self) -> dict[str, str]:
        return dict(self.values)


def variants(axes: list[Axis], seeds: int, base_seed: int) -> list[Variant]:
    """Every combination of axis values, each with `seeds` seeds base, base+1 … so that the
    same seed gives each product the same composition, for a consistent catalog look."""
    if seeds < 1:
        raise InvalidRequest(f"--seeds must be at least 1 (got {seeds}).")
    names = [a.name for a in axes]
    if len(set(names)) != len(names):
        raise InvalidRequest("Each axis needs its own name.")
    combos = itertools.product(*(a.values for a in axes)) if axes else [()]
    return [
        Variant(tuple(zip(names, combo, strict=True)), k, (base_seed + k) % (MAX_SEED + 1))
        for combo in combos for k in range(seeds)
    ]


@dataclass(frozen=True)
class Estimate:
    images: int
    usd: float
    seconds: float | None  # None: nothing to go by yet (no earlier images on this backend)
    cost_basis: str
    time_basis: str
    packshots: int = 0  # product photos on white besides `images`: nothing generated, free

    def describe(self) -> str:
        when = (f"about {format_duration(self.seconds)}" if self.seconds is not None
                else "time unknown until the first images finish")
        made = (f"{self.images} images · estimated {format_usd(self.usd)} ({self.cost_basis}) · "
                f"{when} ({self.time_basis})")
        if not self.packshots:
            return made
        packshots = (f"{self.packshots} packshot{'s' if self.packshots != 1 else ''} (the "
                     "product photo on white: nothing generated, $0)")
        return packshots if not self.images else f"{made} · and {packshots}"
