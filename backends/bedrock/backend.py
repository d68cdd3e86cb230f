"""The Bedrock backend: managed image models on Amazon Bedrock, paid per image."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from backends.bedrock.client import ConnectionSettings, RuntimeClient
from backends.bedrock.errors import RequestRejected, Target
from backends.bedrock.models import DEFAULT_MODEL, MODELS, ModelSpec, TaskType, model_spec
from backends.bedrock.payloads import decode_images, plan_generation
from backends.bedrock.pricing import BedrockPriceBook
from backends.bedrock.tasks import BedrockTask
from backends.errors import BackendError, Cancelled
from backends.types import (
    BackendInfo,
    CancelToken,
    Cost,
    GeneratedImage,
    GenerationRequest,
    GenerationResult,
    Progress,
    ProgressCallback,
    Timings,
)

# Bodies that fail every model's schema: see test_connection.
_PROBE_BODIES: dict[str, dict[str, Any]] = {
    "amazon": {"taskType": "STUDIO_ACCESS_CHECK"},
    "stability": {"prompt": "", "mode": "studio-access-check",
                  "aspect_ratio": "studio-access-check"},
}


class BedrockBackend:
    """Sends each image of a request as one InvokeModel call with its own seed.

    One call per image (not numberOfImages=N) is what makes "image i has seed + i" true,
    so any image in history can be made again on its own; the price is per image either way.
    """

    name = "bedrock"

    def __init__(self, model: str = DEFAULT_MODEL, *, prices: BedrockPriceBook,
                 region: str = "us-east-1", profile: str = "", endpoint_url: str = "",
                 task: BedrockTask | None = None, max_attempts: int | None = None,
                 read_timeout_s: float | None = None,
                 _client: RuntimeClient | None = None) -> None:
        self.model = model or DEFAULT_MODEL
        self.prices = prices
        self.task = task or BedrockTask()
        connection = ConnectionSettings(region=region, profile=profile,
                                        endpoint_url=endpoint_url, max_attempts=max_attempts)
        if read_timeout_s is not None:
            connection = dataclasses.replace(connection, read_timeout_s=read_timeout_s)
        self._client = _client or RuntimeClient(connection)

    @property
    def connection(self) -> ConnectionSettings:
        return self._client.settings

    def with_task(self, task: BedrockTask) -> BedrockBackend:
        """The same backend (sharing its client) running `task`, for the actions beyond
        plain generation: outpainting, background removal, colour-guided generation."""
        c = self.connection
        return BedrockBackend(self.model, prices=self.prices, region=c.region,
                              profile=c.profile, endpoint_url=c.endpoint_url, task=task,
                              _client=self._client)

    def describe(self) -> BackendInfo:
        spec = MODELS.get(self.model)
        device = f"Amazon Bedrock ({self._client.region or 'default region'})"
        if spec is None:
            return BackendInfo(self.name, "Amazon Bedrock", device, False,
                               f"Unknown Bedrock model {self.model!r}; choose one in Settings.")
        via = f" as {self.connection.profile}" if self.connection.profile else ""
        return BackendInfo(self.name, "Amazon Bedrock", device, True,
                           f"{spec.label}{via}, billed per image")

    def estimate_cost(self, request: GenerationRequest) -> Cost:
        spec = MODELS.get(request.model or self.model)
        model_id = spec.id if spec else (request.model or self.model)
        task = self.task.task_for(request)
        width, height = (spec.output_size(request.width, request.height)
                         if spec and task is TaskType.TEXT_IMAGE
                         else (request.width, request.height))
        return self._cost(model_id, task, request.count, width, height, estimated=True)

    def generate(
        self,
        request: GenerationRequest,
        on_progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> GenerationResult:
        started = time.perf_counter()
        cancel = cancel or CancelToken()
        spec = model_spec(request.model or self.model)
        plan = plan_generation(spec, self.task, request)
        self._client.connect(self._target(spec))
        target = self._target(spec)  # now naming the region in use, if it came from the profile
        images: list[GeneratedImage] = []
        network_s = decode_s = 0.0
        total = len(plan.seeds)
        try:
            for index, seed in enumerate(plan.seeds):
                if on_progress is not None:
                    on_progress(Progress("denoise", index, total,
                                         f"Bedrock: image {index + 1} of {total}"))
                cancel.raise_if_cancelled()
                sent = time.perf_counter()
                payload = self._client.invoke(target, plan.body(seed))
                received = time.perf_counter()
                decoded = decode_images(spec, payload)
                decode_s += time.perf_counter() - received
                network_s += received - sent
                images.extend(GeneratedImage(image, reported if reported is not None else seed)
                              for image, reported in decoded)
        except BackendError as exc:
            if not images:
                raise
            raise _with_billed_note(exc, len(images), total) from exc
        if on_progress is not None:
            on_progress(Progress("denoise", total, total, "Bedrock: done"))
        width, height = images[0].image.size
        cost = self._cost(spec.id, plan.task, len(images), width, height, estimated=False)
        # Bedrock reports no split between queueing and inference: the round trip is network.
        timings = Timings(network_s=network_s, decode_s=decode_s,
                          total_s=time.perf_counter() - started)
        return GenerationResult(request=plan.request, images=tuple(images), timings=timings,
                                cost=cost, backend=self.name, model=spec.id,
                                device=f"Amazon Bedrock ({self._client.region})")

    def check(self, request: GenerationRequest) -> None:
        """Raise InvalidRequest now if the model could not serve `request` (nothing is sent),
        so a form can say what to change before the user presses Generate."""
        plan_generation(model_spec(request.model or self.model), self.task, request)

    def test_connection(self) -> str:
        """Prove that these settings can invoke the model, without paying for an image.

        The probe is a real InvokeModel with a body that fails the model's schema. Bedrock
        checks the credentials, the caller's bedrock:InvokeModel permission and the
        account's model access before it reads the body, so a ValidationException about
        the body proves exactly what generating needs, through the same session, region
        and endpoint URL, and no image is made or billed. A control-plane call such as
        bedrock:GetFoundationModel would need another permission designers' roles often
        lack, would not show that model access was granted, and would not go through the
        runtime endpoint URL at all.
        """
        spec = model_spec(self.model)
        self._client.connect(self._target(spec))
        target = self._target(spec)
        try:
            self._client.invoke(target, _PROBE_BODIES[spec.family])
        except RequestRejected:
            pass  # the body was read, so access was granted: the answer we want
        c = self.connection
        who = f" with profile {c.profile}" if c.profile else ""
        via = f" through {c.endpoint_url}" if c.endpoint_url else ""
        return (f"Connected to Amazon Bedrock in {self._client.region}{who}{via}: "
                f"this account can use {spec.label}. Nothing was generated or billed.")

    def _target(self, spec: ModelSpec) -> Target:
        c = self.connection
        return Target(spec.id, spec.label, self._client.region, c.profile, c.endpoint_url,
                      spec.regions)

    def _cost(self, model_id: str, task: TaskType, images: int, width: int, height: int, *,
              estimated: bool) -> Cost:
        return self.prices.cost(
            model_id, images=images, quality=self.task.quality, width=width, height=height,
            task="" if task is TaskType.TEXT_IMAGE else task.label,
            region=self._client.region, estimated=estimated)


def _with_billed_note(exc: BackendError, done: int, total: int) -> BackendError:
    note = (f"{done} of {total} images had already been made; Bedrock bills them, but they "
            "were not kept.")
    if isinstance(exc, Cancelled):
        return Cancelled(f"Generation cancelled. {note}")
    return type(exc)(f"{exc} ({note})")
