"""The same request on several backends, K times each: latency, cost and images per dollar.

Used by `studio compare` and the window's "Compare backends…" action. Every run is
recorded in history like any other generation, with its estimate.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from backends.errors import InvalidRequest
from backends.types import Backend, GenerationRequest
from studio.backend_kinds import KINDS, create_backend, hourly_usd, request_model
from studio.costs.stats import LatencyCost, summarize
from studio.generation.loop import GenerationLoop
from studio.library import ImageRecord
from studio.settings.values import Settings


@dataclass(frozen=True)
class BackendChoice:
    """A backend kind and, optionally, the endpoint or model it targets: `local`,
    `sagemaker:ENDPOINT`, `bedrock:MODEL_ID`."""

    kind: str
    name: str = ""

    @classmethod
    def parse(cls, text: str) -> BackendChoice:
        kind, _, name = text.strip().partition(":")
        if kind not in KINDS:
            forms = ", ".join(f"{k}:{row.target_hint}" if row.target_hint else k
                              for k, row in KINDS.items())
            raise InvalidRequest(f"Unknown backend {text!r}: use {forms}.")
        return cls(kind, name.strip())

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.name}" if self.name else self.kind

    def settings(self, base: Settings) -> Settings:
        """`base` switched to this backend, with the endpoint or model it names."""
        return KINDS[self.kind].with_target(base, self.name)


def parse_backends(text: str) -> list[BackendChoice]:
    choices = [BackendChoice.parse(part) for part in text.split(",") if part.strip()]
    if not choices:
        raise InvalidRequest("Name at least one backend, e.g. --backends local,sagemaker:NAME.")
    if len({c.label for c in choices}) != len(choices):
        raise InvalidRequest("Each backend may be named once in a comparison.")
    return choices


@dataclass
class BackendRuns:
    """One backend's runs in a comparison."""

    choice: BackendChoice
    records: list[list[ImageRecord]] = field(default_factory=list)  # per run
    estimate_usd_per_image: float = 0.0
    burn_usd_per_hour: float | None = None  # SageMaker: what the endpoint bills while up

    @property
    def summary(self) -> LatencyCost:
        return summarize(self.choice.label, [_run_dict(run) for run in self.records if run])

    @property
    def first_images(self) -> list[ImageRecord]:
        return [run[0] for run in self.records if run]

    def to_dict(self) -> dict[str, Any]:
        return {"backend": self.choice.label, **self.summary.to_dict(),
                "estimate_usd_per_image": self.estimate_usd_per_image,
                "burn_usd_per_hour": self.burn_usd_per_hour,
                "image_ids": [r.id for run in self.records for r in run]}


def _run_dict(run: list[ImageRecord]) -> dict[str, Any]:
    first = run[0]
    return {**first.timings.to_dict(), "count": len(run),
            "cost_usd": sum(r.cost.usd for r in run),
            "estimate_usd": (sum(r.estimate.usd for r in run)
                             if first.estimate is not None else None)}


def run_comparison(request: GenerationRequest, choices: Sequence[BackendChoice],
                   base: Settings, loop: GenerationLoop, *, runs: int = 1,
                   make_backend: Callable[[Settings], Backend] | None = None,
                   on_run: Callable[[BackendChoice, int], None] | None = None,
                   ) -> list[BackendRuns]:
    """Run `request` `runs` times on each backend (same seed each time), recording every run.

    A backend that fails stops the comparison with its error: a table with a silent gap
    would mislead.
    """
    if runs < 1:
        raise InvalidRequest("--runs must be at least 1.")
    make_backend = make_backend or create_backend
    request = request.with_resolved_seed()
    results: list[BackendRuns] = []
    for choice in choices:
        settings = choice.settings(base)
        backend = make_backend(settings)
        wanted = request.replace(model=request_model(settings))
        outcome = BackendRuns(choice)
        outcome.burn_usd_per_hour = hourly_usd(backend)
        for index in range(runs):
            if on_run is not None:
                on_run(choice, index)
            generated = loop.run(wanted, backend)
            if index == 0:
                outcome.estimate_usd_per_image = generated.estimate.usd / wanted.count
            outcome.records.append(generated.records)
        results.append(outcome)
    return results


def comparison_rows(results: Sequence[BackendRuns]) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of the printed table."""
    from studio.formatting import format_per_dollar, format_usd

    headers = ["backend", "runs", "p50", "load", "queue", "network", "inference", "decode",
               "$/image", "images/$", "estimate/image"]
    rows = []
    for outcome in results:
        s = outcome.summary
        parts = s.mean_parts
        rows.append([outcome.choice.label, str(s.runs), f"{s.p50_s:.2f}s",
                     *(f"{parts[p]:.2f}s" for p in ("load_s", "queue_s", "network_s",
                                                    "inference_s", "decode_s")),
                     format_usd(s.usd_per_image), format_per_dollar(s.images_per_usd),
                     format_usd(outcome.estimate_usd_per_image)])
    return headers, rows


def burn_notes(results: Sequence[BackendRuns]) -> list[str]:
    """For endpoints: what they bill by the hour, and the cost per image kept busy."""
    notes = []
    for outcome in results:
        if outcome.burn_usd_per_hour is None:
            continue
        s = outcome.summary
        note = (f"{outcome.choice.label} bills ${outcome.burn_usd_per_hour:.3f}/h while up, "
                "used or not")
        if s.p50_s > 0 and s.images:
            per_hour = 3600 / s.p50_s * (s.images / max(1, s.runs))
            note += (f"; kept busy it makes about {per_hour:,.0f} images/h, "
                     f"${outcome.burn_usd_per_hour / per_hour:.4f} per image")
        notes.append(note + ".")
    return notes
