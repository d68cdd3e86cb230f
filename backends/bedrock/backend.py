"""The Bedrock backend: managed image models on Amazon Bedrock, paid per image."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from backends.bedrock.client import ConnectionSettings, RuntimeClient
from backends.bedrock.errors import RequestRejected, Target, map_aws_error
from backends.bedrock.lifecycle import LifecycleBook
from backends.bedrock.models import (
    DEFAULT_MODEL,
    DEFAULT_REGION,
    GENERATION_TASKS,
    MODELS,
    SERVICE_FOR_TASK,
    ModelSpec,
    Task,
    base_model_id,
    model_spec,
)
from backends.bedrock.payloads import Plan, decode_images, plan_generation
from backends.bedrock.pricing import BedrockPriceBook
from backends.bedrock.profiles import invocation_id, offered_regions
from backends.bedrock.tasks import TASK_INFO, BedrockTask
from backends.errors import BackendError, Cancelled, InvalidRequest
from backends.types import (
    BackendInfo,
    CancelToken,
    Cost,
    GeneratedImage,
    GenerationRequest,
    GenerationResult,
    Progress,
    ProgressCallback,
    TaskInfo,
    Timings,
    refuse_local_only,
)

# A body that fails every Stability model's schema: see test_connection.
_PROBE_BODY: dict[str, Any] = {"prompt": "", "mode": "studio-access-check",
                               "aspect_ratio": "studio-access-check"}
LIFECYCLE_MAX_AGE = timedelta(days=1)


class _Lifecycle:
    """The lifecycle book a backend and its task variants share, refreshed at most daily."""

    def __init__(self, book: LifecycleBook, on_read: Callable[[LifecycleBook], None] | None,
                 refresh: bool) -> None:
        self.book = book
        self.on_read = on_read
        self.refresh = refresh
        self.tried = False
        self.lock = threading.Lock()


class BedrockBackend:
    """Sends each image of a request as one InvokeModel call with its own seed.

    One call per image is what makes "image i has seed + i" true, so any image in history
    can be made again on its own; the price is per image either way. Plain generation runs
    the chosen model; every other task (inpaint, remove background, upscale…) runs the
    Stability image service made for it, whichever model is chosen.
    """

    name = "bedrock"

    def __init__(self, model: str = DEFAULT_MODEL, *, prices: BedrockPriceBook,
                 region: str = DEFAULT_REGION, profile: str = "", endpoint_url: str = "",
                 task: BedrockTask | None = None, max_attempts: int | None = None,
                 read_timeout_s: float | None = None, lifecycle: LifecycleBook | None = None,
                 on_lifecycle_read: Callable[[LifecycleBook], None] | None = None,
                 refresh_lifecycle: bool = True,
                 _client: RuntimeClient | None = None, _lifecycle: _Lifecycle | None = None,
                 ) -> None:
        self.model = model or DEFAULT_MODEL
        self.prices = prices
        self.task = task or BedrockTask()
        connection = ConnectionSettings(region=region, profile=profile,
                                        endpoint_url=endpoint_url, max_attempts=max_attempts)
        if read_timeout_s is not None:
            connection = dataclasses.replace(connection, read_timeout_s=read_timeout_s)
        self._client = _client or RuntimeClient(connection)
        self._lifecycle = _lifecycle or _Lifecycle(lifecycle or LifecycleBook.shipped(),
                                                   on_lifecycle_read, refresh_lifecycle)

    @property
    def connection(self) -> ConnectionSettings:
        return self._client.settings

    @property
    def lifecycle(self) -> LifecycleBook:
        return self._lifecycle.book

    def with_task(self, task: BedrockTask) -> BedrockBackend:
        """The same backend (sharing its client and lifecycle) running `task`."""
        return BedrockBackend(self.model, prices=self.prices, task=task,
                              _client=self._client, _lifecycle=self._lifecycle)

    def describe(self) -> BackendInfo:
        device = f"Amazon Bedrock ({self._client.region or 'default region'})"
        if self.lifecycle.state(self.model) == "EOL":
            return BackendInfo(self.name, "Amazon Bedrock", device, False,
                               self.lifecycle.retired_message(self.model))
        spec = MODELS.get(base_model_id(self.model))
        if spec is None:
            return BackendInfo(self.name, "Amazon Bedrock", device, False,
                               f"Unknown Bedrock model {self.model!r}; choose one in Settings.")
        via = f" as {self.connection.profile}" if self.connection.profile else ""
        warning = self.lifecycle.check(spec.id)
        return BackendInfo(self.name, "Amazon Bedrock", device, True,
                           f"{spec.label}{via}, billed per image" +
                           (f". {warning}" if warning else ""))

    def lifecycle_warning(self, request: GenerationRequest | None = None) -> str:
        """The Legacy warning for the model a request would run ('' if it is Active)."""
        spec = self._spec(request) if request is not None else MODELS.get(
            base_model_id(self.model))
        return self.lifecycle.check(spec.id) if spec is not None else ""

    def estimate_cost(self, request: GenerationRequest) -> Cost:
        task = self.task.task_for(request)
        try:
            spec = self._spec(request)
        except InvalidRequest:
            return self._cost(base_model_id(request.model or self.model), task, request.count,
                              estimated=True)
        return self._cost(spec.id, task, request.count, estimated=True)

    def generate(
        self,
        request: GenerationRequest,
        on_progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> GenerationResult:
        cancel = cancel or CancelToken()
        self._refresh_lifecycle_if_stale()
        started = time.perf_counter()
        plan = self._plan(request)
        self._client.connect(self._target(plan.spec, plan.spec.id))
        invoked = invocation_id(plan.spec, self._client.region)
        target = self._target(plan.spec, invoked)
        images: list[GeneratedImage] = []
        network_s = decode_s = 0.0
        total = len(plan.seeds)
        try:
            for index, seed in enumerate(plan.seeds):
                if on_progress is not None:
                    on_progress(Progress("denoise", index, total,
                                         f"Bedrock {plan.task.label}: image {index + 1} of "
                                         f"{total}"))
                cancel.raise_if_cancelled()
                sent = time.perf_counter()
                payload = self._client.invoke(target, plan.body(seed))
                received = time.perf_counter()
                decoded = decode_images(plan.spec, payload)
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
        cost = self._cost(plan.spec.id, plan.task, len(images), estimated=False)
        # Bedrock reports no split between queueing and inference: the round trip is network.
        timings = Timings(network_s=network_s, decode_s=decode_s,
                          total_s=time.perf_counter() - started)
        # The id invoked (a cross-region profile where one was needed) is what is recorded.
        return GenerationResult(request=plan.request.replace(model=invoked),
                                images=tuple(images), timings=timings, cost=cost,
                                backend=self.name, model=invoked,
                                device=f"Amazon Bedrock ({self._client.region})")

    def check(self, request: GenerationRequest) -> None:
        """Raise InvalidRequest now if the model could not serve `request` (nothing is sent),
        so a form can say what to change before the user presses Generate."""
        plan = self._plan(request)
        if self._client.settings.region:
            invocation_id(plan.spec, self._client.settings.region)

    def tasks(self) -> list[TaskInfo]:
        return list(TASK_INFO.values())

    def refresh_lifecycle(self) -> str:
        """Read every image model's lifecycle from Bedrock now; what happened, in a sentence."""
        try:
            summaries = self._client.image_model_summaries()
        except (ClientError, BotoCoreError) as exc:
            problem = map_aws_error(exc, self._target(model_spec(DEFAULT_MODEL), "lifecycle"))
            return (f"Could not read the model lifecycle from Bedrock ({problem}); using "
                    f"Studio's shipped data.")
        today = datetime.now(UTC).date()
        book = self.lifecycle.with_live(summaries, today)
        self._lifecycle.book = book
        if self._lifecycle.on_read is not None:
            self._lifecycle.on_read(book)
        return f"Read the lifecycle of {len(summaries)} image models from Bedrock on {today}."

    def test_connection(self) -> str:
        """Prove that these settings can invoke the model, without paying for an image.

        The probe is a real InvokeModel with a body that fails the model's schema. Bedrock
        checks the credentials, the caller's bedrock:InvokeModel permission and the
        account's model access before it reads the body, so a ValidationException about
        the body proves exactly what generating needs, through the same session, region
        and endpoint URL, and no image is made or billed. The lifecycle is read too, which
        needs bedrock:ListFoundationModels; without it Studio keeps its shipped data.
        """
        self.lifecycle.check(base_model_id(self.model))
        spec = model_spec(self.model)
        self._client.connect(self._target(spec, spec.id))
        target = self._target(spec, invocation_id(spec, self._client.region))
        try:
            self._client.invoke(target, _PROBE_BODY)
        except RequestRejected:
            pass  # the body was read, so access was granted: the answer we want
        lifecycle = self.refresh_lifecycle()
        c = self.connection
        who = f" with profile {c.profile}" if c.profile else ""
        via = f" through {c.endpoint_url}" if c.endpoint_url else ""
        return (f"Connected to Amazon Bedrock in {self._client.region}{who}{via}: "
                f"this account can use {spec.label}. Nothing was generated or billed. "
                f"{lifecycle}")

    def _spec(self, request: GenerationRequest) -> ModelSpec:
        task = self.task.task_for(request)
        # Checked by id before model_spec, which no longer knows the retired models.
        model_id = (base_model_id(request.model or self.model) if task in GENERATION_TASKS
                    else SERVICE_FOR_TASK[task].id)
        self.lifecycle.check(model_id)
        return model_spec(model_id)

    def _plan(self, request: GenerationRequest) -> Plan:
        refuse_local_only(request, "Amazon Bedrock")
        return plan_generation(self._spec(request), self.task, request)

    def _refresh_lifecycle_if_stale(self) -> None:
        state = self._lifecycle
        with state.lock:
            read_on = state.book.read_on
            fresh = read_on is not None and (
                datetime.now(UTC).date() - read_on < LIFECYCLE_MAX_AGE)
            if not state.refresh or state.tried or fresh:
                return
            state.tried = True
        self.refresh_lifecycle()

    def _target(self, spec: ModelSpec, model_id: str) -> Target:
        c = self.connection
        return Target(model_id, spec.label, self._client.region, c.profile, c.endpoint_url,
                      offered_regions(spec), self.lifecycle.retired_message(spec.id))

    def _cost(self, model_id: str, task: Task, images: int, *, estimated: bool) -> Cost:
        return self.prices.cost(
            model_id, images=images, task="" if task in GENERATION_TASKS else task.label,
            region=self._client.region, estimated=estimated)


def _with_billed_note(exc: BackendError, done: int, total: int) -> BackendError:
    note = (f"{done} of {total} images had already been made; Bedrock bills them, but they "
            "were not kept.")
    if isinstance(exc, Cancelled):
        return Cancelled(f"Generation cancelled. {note}")
    return type(exc)(f"{exc} ({note})")
