"""From a catalog, templates, axes and a preset to the list of images a job will make."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from studio.backend_kinds import capabilities_of
from studio.batch.catalog import Catalog
from studio.batch.matrix import Axis, Estimate, Variant, variants
from studio.batch.naming import export_paths
from studio.batch.presets import OutputPreset
from studio.batch.products import image_value
from studio.batch.store import NewItem
from studio.batch.templates import Template
from studio.formatting import format_usd


@dataclass(frozen=True)
class BatchSpec:
    """Everything a job needs to run or resume, stored with it as JSON."""

    catalog: str
    out: str
    template: str
    negative: str = ""
    axes: list[tuple[str, list[str]]] = field(default_factory=list)
    seeds: int = 1
    base_seed: int = 0
    preset: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    request: dict[str, Any] = field(default_factory=dict)  # GenerationRequest fields
    settings: dict[str, Any] = field(default_factory=dict)  # the effective Settings
    concurrency: int = 4
    retries: int = 3
    budget_usd: float | None = None
    image_column: str | None = None  # product photos: each item's scene is made around one
    fill: float | str | None = None  # the product's share of the frame, or "native"
    include_nonphysical: bool = False  # keep virtual, downloadable, grouped products
    harmonise: float = 0.0  # product scenes: a second, light pass's strength (0: off)
    upscaler: str = "auto"  # auto, lanczos or a fetched upscaler's name (batch/upscale.py)

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BatchSpec:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["axes"] = [(name, list(values)) for name, values in known.get("axes", [])]
        return cls(**known)

    def axis_objects(self) -> list[Axis]:
        return [Axis(name, tuple(values)) for name, values in self.axes]


def parse_templates(catalog: Catalog, axes: list[Axis], text: str,
                    negative: str) -> tuple[Template, Template]:
    known = [*catalog.columns, *(a.name for a in axes)]
    return (Template.parse(text, known),
            Template.parse(negative, known, what="negative template"))


PACKSHOT_VARIANT = "main"  # `{sku}/{sku}_main.jpg`, as Amazon calls its main image


def plan_items(catalog: Catalog, template: Template, negative: Template, axes: list[Axis],
               seeds: int, base_seed: int, preset: OutputPreset | None,
               packshot_skus: Collection[str] = ()) -> list[NewItem]:
    """Products in catalog order, each with every variant; names planned all at once so that
    they are unique across the whole job. A SKU in `packshot_skus` gets one packshot instead:
    its variants would all be the same photo on white."""
    matrix: list[Variant] = variants(axes, seeds, base_seed)
    suffix = [preset.prompt_suffix] if preset and preset.prompt_suffix else []
    planned: list[NewItem] = []  # `file` filled in below
    packshots_planned: set[str] = set()
    for product in catalog.products:
        if product.sku in packshot_skus:
            if product.sku not in packshots_planned:  # one however many rows share the SKU
                packshots_planned.add(product.sku)
                planned.append(NewItem(product.sku, PACKSHOT_VARIANT, "", "", 0, "",
                                       packshot=True))
            continue
        for variant in matrix:
            fields = {**product.fields, **variant.as_fields()}
            unused = [v for name, v in variant.values if name not in template.fields]
            planned.append(NewItem(product.sku, variant.name,
                                   template.render(fields, [*unused, *suffix]),
                                   negative.render(fields), variant.seed, ""))
    extension = preset.extension if preset else "png"
    files = export_paths(((item.sku, item.variant) for item in planned), extension)
    return [dataclasses.replace(item, file=file)
            for item, file in zip(planned, files, strict=True)]


def packshot_skus(catalog: Catalog, image_column: str | None,
                  preset: OutputPreset | None) -> frozenset[str]:
    """The SKUs made as packshots: those with a product photo, with a preset that puts
    products on white (the runner tells them by the same rule)."""
    if preset is None or not preset.product_on_white or not image_column:
        return frozenset()
    return frozenset(p.sku for p in catalog.products
                     if image_value(image_column, p.fields.get(image_column, "")))


def estimate_batch(backend: Any, base_request: Any, items: list[NewItem], library: Any,
                   concurrency: int) -> Estimate:
    """Cost from the backend's own estimate per image; time from this backend and model's
    recent images in the library (nothing better is known before the first one)."""
    packshots = sum(1 for item in items if item.packshot)
    items = [item for item in items if not item.packshot]
    if not items:
        return Estimate(0, 0.0, 0.0, "nothing to generate", "nothing to generate", packshots)
    sample = base_request.replace(prompt=items[0].prompt, seed=items[0].seed, count=1)
    cost = backend.estimate_cost(sample)
    name = getattr(backend, "name", "")
    recent = library.search(backend=name, limit=20)
    if base_request.model:
        recent = [r for r in recent if r.model == base_request.model] or recent
    seconds = None
    time_basis = f"no earlier images on {name}"
    if recent:
        per_image = [r.latency_s / max(1, int(r.request.get("count", 1))) for r in recent]
        average = sum(per_image) / len(per_image)
        parallel = 1 if capabilities_of(backend).one_at_a_time else max(1, concurrency)
        seconds = average * len(items) / parallel
        time_basis = f"{average:.1f} s per image over the last {len(recent)} on {name}"
        if parallel > 1:
            time_basis += f", {parallel} at a time"
    return Estimate(len(items), cost.usd * len(items), seconds,
                    f"{len(items)} × {format_usd(cost.usd)}: {cost.basis}", time_basis, packshots)


@dataclass
class PreparedBatch:
    """A job ready to be stored: what the dialog previews and the CLI prints."""

    catalog: Catalog
    template: Template
    items: list[NewItem]
    spec: BatchSpec

    def preview(self, limit: int = 5) -> list[str]:
        return [f"{i.sku} · {i.variant}: " + ("the product photo on white (nothing generated)"
                                              if i.packshot else i.prompt)
                for i in self.items[:limit]]


def prepare_batch(catalog: Catalog, spec: BatchSpec,
                  preset: OutputPreset | None) -> PreparedBatch:
    axes = spec.axis_objects()
    template, negative = parse_templates(catalog, axes, spec.template, spec.negative)
    items = plan_items(catalog, template, negative, axes, spec.seeds, spec.base_seed, preset,
                       packshot_skus(catalog, spec.image_column, preset))
    return PreparedBatch(catalog, template, items, spec)
