"""An in-process backend with scripted failures, for runner tests that need no model."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from PIL import Image

from backends.errors import BackendUnavailable, InvalidRequest, TransientError
from backends.types import (
    BackendInfo,
    CancelToken,
    Cost,
    GeneratedImage,
    GenerationRequest,
    GenerationResult,
    Timings,
)
from studio.batch.catalog import load_catalog
from studio.batch.export import Exporter
from studio.batch.matrix import Axis
from studio.batch.plan import parse_templates, plan_items
from studio.batch.presets import OutputPreset
from studio.batch.runner import BatchRunner, RunnerConfig
from studio.batch.store import BatchStore
from studio.generation.loop import GenerationLoop
from studio.library import Library


class FakeBackend:
    def __init__(self, name: str = "fake", usd: float = 0.1, delay_s: float = 0.0,
                 transient: dict[str, int] | None = None, invalid: set[str] | None = None,
                 unavailable: str = ""):
        self.name, self.usd, self.delay_s = name, usd, delay_s
        self.transient = dict(transient or {})  # sku in prompt -> failures left
        self.invalid = invalid or set()
        self.unavailable = unavailable
        self.calls: list[GenerationRequest] = []
        self.in_flight = self.max_in_flight = 0
        self._lock = threading.Lock()

    def describe(self) -> BackendInfo:
        return BackendInfo(self.name, "Fake", "cpu", True)

    def estimate_cost(self, request: GenerationRequest) -> Cost:
        return Cost(self.usd * request.count, f"{request.count} × ${self.usd}")

    def generate(self, request: GenerationRequest, on_progress=None,
                 cancel: CancelToken | None = None) -> GenerationResult:
        with self._lock:
            self.calls.append(request)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            time.sleep(self.delay_s)
            if cancel is not None:
                cancel.raise_if_cancelled()
            if self.unavailable:
                raise BackendUnavailable(self.unavailable)
            for key in self.invalid:
                if key in request.prompt:
                    raise InvalidRequest(f"Refused {key}.")
            with self._lock:
                for key, left in self.transient.items():
                    if key in request.prompt and left > 0:
                        self.transient[key] = left - 1
                        raise TransientError("Throttled, try again.")
            images = tuple(GeneratedImage(Image.new("RGB", (request.width, request.height),
                                                    (200, 100, (request.seed or 0) % 256)), s)
                           for s in request.with_resolved_seed().image_seeds())
            return GenerationResult(request, images, Timings(inference_s=0.01, total_s=0.02),
                                    Cost(self.usd * len(images), "fake", estimated=False),
                                    self.name, "fake-model", "cpu")
        finally:
            with self._lock:
                self.in_flight -= 1


def make_job(tmp_path: Path, store: BatchStore, products: int = 3, seeds: int = 2,
             out_name: str = "out", preset: OutputPreset | None = None) -> tuple[int, Path]:
    catalog_path = tmp_path / "catalog.csv"
    catalog_path.write_text("sku,title\n" + "".join(f"SKU-{i},thing {i}\n"
                                                    for i in range(products)), encoding="utf-8")
    catalog = load_catalog(catalog_path)
    axes = [Axis.parse("background=white|marble")]
    template, negative = parse_templates(catalog, axes, "a {title}", "")
    items = plan_items(catalog, template, negative, axes, seeds, 100, preset)
    out = tmp_path / out_name
    job_id = store.create_job(str(catalog_path), str(out), {"preset": None}, items)
    return job_id, out


def make_runner(store: BatchStore, job_id: int, out: Path, backend: FakeBackend,
                library: Library, preset: OutputPreset | None = None,
                **config: object) -> BatchRunner:
    request = GenerationRequest(prompt="x", seed=0, width=64, height=64, steps=1)
    settings = RunnerConfig(**{"backoff_s": 0.0, **config})  # type: ignore[arg-type]
    return BatchRunner(store, job_id, backend, GenerationLoop(library), request, preset,
                       Exporter(job_id, out), settings)
