"""The one table of backend kinds: the only module of the app that names concrete backends.

Each row says how a kind reads to a designer, which Settings section holds its options, how
to build it, how to test its connection and what it can do. The rest of the app (CLI, window,
batch, compare, product scenes, the job queue) asks this table, never `backend.name == …`.
Adding a backend means adding a row here and its own package under `backends/`.

Concrete packages are imported inside the row's functions, so `import studio` and opening
the window never import torch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from backends.errors import BackendUnavailable, InvalidRequest
from backends.types import Backend, TaskInfo
from studio.costs.pricing import bedrock_prices, electricity_price, sagemaker_price_for
from studio.settings.bedrock_lifecycle import load_lifecycle_data, save_lifecycle_data
from studio.settings.values import BACKENDS, BedrockSettings, Settings


@dataclass(frozen=True)
class Capabilities:
    """What a kind of backend can do, so the app can ask instead of checking names."""

    img2img: bool = True
    inpaint: bool = True
    edit: bool = False  # instruction editing ("make the background a marble counter")
    loras: bool = False
    speed_applies: bool = True  # the exact/fast/fastest profile means something here
    fixed_sizes: bool = False  # the model accepts only the sizes it lists
    steps_apply: bool = True  # the steps field means something on this backend
    sampler_applies: bool = True
    guidance_applies: bool = True
    # One model in this machine's memory: one worker, and consecutive seeds of one prompt
    # go in one call.
    one_at_a_time: bool = False
    billed_by_the_hour: bool = False  # an endpoint that costs money while it is up


DEFAULT_CAPABILITIES = Capabilities()


@dataclass(frozen=True)
class BackendKind:
    name: str  # also the Settings section's attribute and BackendInfo.name
    label: str
    description: str
    capabilities: Capabilities
    build: Callable[[Settings], Backend]
    # The section field that names the model a request asks for; None when the backend
    # serves one model and names it in its answer (an endpoint).
    model_field: str | None
    # What `--backends KIND:TARGET` (compare) sets in the section, and how help names it.
    target_field: str
    target_hint: str
    missing_target: str  # what the window says when nothing is chosen yet
    setup_problem: Callable[[Settings], str] = lambda settings: ""
    test_connection: Callable[[Backend], str] | None = None
    product_scenes: Callable[[Backend], Backend] = lambda backend: backend
    hourly_usd: Callable[[Backend], float | None] = lambda backend: None
    # The tasks beyond plain generation (edits, upscales…) and how to set one; None: none.
    tasks: Callable[[], list[TaskInfo]] | None = None
    with_task: Callable[[Backend, str, dict[str, Any]], Backend] | None = None
    lifecycle_warning: Callable[[Backend, Any], str] = lambda backend, request: ""

    def section(self, settings: Settings) -> Any:
        return getattr(settings, self.name)

    def request_model(self, settings: Settings) -> str:
        return getattr(self.section(settings), self.model_field) if self.model_field else ""

    def with_model(self, settings: Settings, model: str) -> Settings:
        """`settings` with this kind's model set; unchanged for a kind that serves one model."""
        if self.model_field is None:
            return settings
        return self._with_field(settings, self.model_field, model)

    def with_target(self, settings: Settings, target: str) -> Settings:
        """`settings` switched to this kind, with the endpoint or model `target` names."""
        settings = settings.replace(backend=self.name)
        return self._with_field(settings, self.target_field, target) if target else settings

    def target_text(self, settings: Settings) -> str:
        return getattr(self.section(settings), self.target_field) or self.missing_target

    def _with_field(self, settings: Settings, field_name: str, value: str) -> Settings:
        section = dataclasses.replace(self.section(settings), **{field_name: value})
        return settings.replace(**{self.name: section})


# --- local GPU ----------------------------------------------------------------------------

def energy_price_for(settings: Settings) -> Any:
    from backends.local import EnergyPrice

    usd_per_kwh = settings.electricity_usd_per_kwh
    if usd_per_kwh is None:
        usd_per_kwh = electricity_price().value
    return EnergyPrice(usd_per_kwh=usd_per_kwh, watts=settings.local.device_watts,
                       hardware_usd_per_hour=settings.local.hardware_usd_per_hour)


def _build_local(settings: Settings) -> Backend:
    from backends.local import LocalBackend
    from studio.costs.stats import local_run_history

    library = settings.library_path()
    # Past runs (the window's, the CLI's, earlier sessions') make the first estimate measured.
    return LocalBackend(settings.local.model, device=settings.local.device,
                        energy=energy_price_for(settings),
                        history=lambda: local_run_history(library))


def _local_setup_problem(settings: Settings) -> str:
    if not settings.local.model:
        return ("No model chosen yet. Pick a Hugging Face hub id such as stabilityai/sdxl-turbo "
                "(downloaded once, with progress), or a local diffusers folder or .safetensors "
                "file.")
    return ""


def local_dependencies_missing() -> list[str]:
    """The packages of the 'local' extra this install lacks (none: local generation works)."""
    from backends.local import local_dependencies_missing as missing

    return missing()


def check_local_model(model: str) -> None:
    """Raise InvalidRequest (or BackendUnavailable) when `model` names nothing loadable.

    Classifies without loading, so a typo shows in Settings rather than mid-run."""
    from backends.local.sources import resolve

    resolve(model)


def _local_product_scenes(backend: Any) -> Backend:
    from backends.local.scenes import EditScenes

    return EditScenes(backend)


def local_model_profile(model: str) -> Any:
    """The FamilyProfile of a local model (None when unknown), from its files or the hub
    cache only: never loads it, never goes online."""
    from backends.local import LocalBackend

    return LocalBackend(model).model_profile()


def model_profile(settings: Settings) -> Any:
    """The family profile of the model the settings choose, where the backend runs models
    of known families (the local GPU); None otherwise."""
    if settings.backend != "local" or not settings.local.model:
        return None
    return local_model_profile(settings.local.model)


def commercial_use_warning(settings: Settings) -> str:
    """A warning when the chosen model's licence does not allow commercial use ("" if it
    does, or is not known)."""
    profile = model_profile(settings)
    if profile is None or profile.commercial:
        return ""
    return (f"{profile.label} is under the {profile.licence}: {profile.licence_note} Images "
            "for a shop's catalog are commercial use.")


# --- SageMaker ----------------------------------------------------------------------------

def _build_sagemaker(settings: Settings) -> Backend:
    from backends.errors import BackendError
    from backends.sagemaker import SageMakerBackend
    from backends.sagemaker.session import make_session, resolve_region

    section = settings.sagemaker
    try:  # the region requests will use; a bad profile is reported on first use instead
        region = resolve_region(make_session(section.profile, section.region), section.region,
                                section.endpoint_url)
    except BackendError:
        region = ""
    price = (sagemaker_price_for(settings.costs, section.instance_type, region)
             if region or settings.costs.sagemaker_usd_per_hour is not None else None)
    return SageMakerBackend(
        section.endpoint_name, region=section.region, profile=section.profile,
        endpoint_url=section.endpoint_url, instance_type=section.instance_type,
        instance_count=section.instance_count, payload_format=section.payload_format,
        usd_per_hour=price.value if price else None,
        price_source=_price_source(price, region))


def sagemaker_transform(settings: Settings, *, model_name: str, s3_uri: str,
                        instance_type: str, instances: int, s3_endpoint_url: str = "") -> Any:
    """The SageMaker Batch Transform client a `--mode transform` batch runs on
    (backends/sagemaker/transform.py), priced from the price book for its instance type."""
    from backends.sagemaker.transform import Price, open_transform
    from studio.costs.pricing import sagemaker_price

    def price_for(kind: str, region: str) -> Price | None:
        price = sagemaker_price(kind, region)
        return None if price is None else Price(price.value, _price_source(price, region))

    section = settings.sagemaker
    return open_transform(profile=section.profile, region=section.region, s3_uri=s3_uri,
                          model_name=model_name, instance_type=instance_type,
                          instances=instances, payload_format=section.payload_format,
                          price_for=price_for, s3_endpoint_url=s3_endpoint_url)


def sagemaker_async(settings: Settings, *, s3_uri: str,
                    s3_endpoint_url: str = "") -> tuple[Any, Any]:
    """(client, codec) a `--mode async` batch runs on (backends/sagemaker/async_inference.py):
    requests to S3, InvokeEndpointAsync, outputs polled; the payloads as the backend's."""
    from backends.sagemaker.async_inference import AsyncEndpoint, AsyncPayloads, S3Prefix

    section = settings.sagemaker
    if not section.endpoint_name:
        raise InvalidRequest("An async batch needs the endpoint's name: pass --endpoint NAME "
                             "(or set it in Settings → SageMaker).")
    client = AsyncEndpoint.open(section.endpoint_name, S3Prefix.parse(s3_uri),
                                region=section.region, profile=section.profile,
                                endpoint_url=section.endpoint_url,
                                s3_endpoint_url=s3_endpoint_url)
    return client, AsyncPayloads(section.payload_format)


def _price_source(price: Any, region: str) -> str:
    if price is None:
        return ""
    if price.as_of == "now":
        return price.source
    return f"{region} list price as of {price.as_of}"


def _sagemaker_setup_problem(settings: Settings) -> str:
    if not (settings.sagemaker.endpoint_name or settings.sagemaker.endpoint_url):
        return "Choose your SageMaker endpoint in Settings."
    return ""


def _sagemaker_product_scenes(backend: Any) -> Backend:
    if getattr(backend, "payload_format", "studio") == "jumpstart":
        raise InvalidRequest("JumpStart endpoints only do text-to-image; product scenes need "
                             "an endpoint running Studio's handler (payload format 'studio').")
    return backend


# --- Bedrock ------------------------------------------------------------------------------

def _build_bedrock(settings: Settings) -> Backend:
    from backends.bedrock import BedrockBackend, BedrockPriceBook

    section = settings.bedrock
    prices = BedrockPriceBook.from_dict(bedrock_prices(settings.costs, section.model))
    return BedrockBackend(section.model, prices=prices, region=section.region,
                          profile=section.profile, endpoint_url=section.endpoint_url,
                          lifecycle=bedrock_lifecycle(),
                          on_lifecycle_read=lambda book: save_lifecycle_data(book.to_dict()))


def bedrock_lifecycle() -> Any:
    """The Bedrock lifecycle last read live (saved with its date), else the shipped one."""
    from backends.bedrock import LifecycleBook

    data = load_lifecycle_data()
    try:
        return LifecycleBook.from_dict(data) if data is not None else LifecycleBook.shipped()
    except ValueError:
        return LifecycleBook.shipped()


def bedrock_model_choices() -> list[tuple[str, str, str]]:
    """(model id, label, lifecycle) of each Bedrock model Settings may offer: retired ones
    are left out, Legacy ones say so."""
    from backends.bedrock import GENERATION_MODELS

    book = bedrock_lifecycle()
    today = datetime.now(UTC).date()
    choices = []
    for spec in GENERATION_MODELS:
        entry = book.get(spec.id)
        if entry is None or entry.state_on(today) != "EOL":
            choices.append((spec.id, spec.label, entry.describe(today) if entry else "Active"))
    return choices


def bedrock_model_warning(model: str) -> str:
    """What Settings shows beside a Bedrock model: its end of life if retired, a warning if
    Legacy, '' if Active."""
    from backends.bedrock import ModelRetired

    try:
        return str(bedrock_lifecycle().check(model.strip()))
    except ModelRetired as retired:
        return str(retired)


def bedrock_lifecycle_rows() -> list[tuple[str, str, str, str]]:
    """(model id, label, state, where that comes from) for every Bedrock image model Studio
    knows, retired ones included, as `studio bedrock models` lists them."""
    from backends.bedrock import GENERATION_MODELS

    book = bedrock_lifecycle()
    today = datetime.now(UTC).date()
    labels = {spec.id: spec.label for spec in GENERATION_MODELS}
    labels.update({m: e.label for m, e in book.entries.items() if m not in labels})
    rows = []
    for model_id, label in labels.items():
        entry = book.get(model_id)
        if entry is None:
            rows.append((model_id, label, "Active", "Studio's shipped data"))
        else:
            read = f", read {entry.read_on}" if entry.read_on else ""
            rows.append((model_id, entry.label, entry.describe(today), entry.source + read))
    return rows


def refresh_bedrock_lifecycle(settings: Settings) -> str:
    """Read the lifecycle live with these settings' credentials and keep it; a sentence."""
    backend = _build_bedrock(settings)
    return str(backend.refresh_lifecycle())  # type: ignore[attr-defined]


def bedrock_task_rows(settings: Settings) -> list[tuple[str, str, str]]:
    """(task, what it does, price per image) of each Bedrock task."""
    from backends.bedrock import SERVICE_FOR_TASK, Task

    prices = _build_bedrock(settings).prices  # type: ignore[attr-defined]
    rows = []
    for info in _bedrock_tasks():
        task = Task(info.name)
        model = SERVICE_FOR_TASK[task].id if task in SERVICE_FOR_TASK else settings.bedrock.model
        cost = prices.cost(model, images=1)
        rows.append((info.name, info.description, f"${cost.usd:g}" if cost.usd else "no price"))
    return rows


def _bedrock_product_scenes(backend: Any) -> Backend:
    """The Stability Inpaint service repaints everything the mask leaves white (the scene);
    the product's own pixels are composited back afterwards."""
    from backends.bedrock import BedrockTask, Task

    return backend.with_task(BedrockTask(task=Task.INPAINT))


def _bedrock_with_task(backend: Any, name: str, options: dict[str, Any]) -> Backend:
    """Options by TaskInfo.options name; `margins` may be a dict of left/right/up/down."""
    from backends.bedrock import BedrockTask, Margins

    margins = options.get("margins")
    if isinstance(margins, dict):
        options = {**options, "margins": Margins(**{k: int(v) for k, v in margins.items()})}
    elif isinstance(margins, str):
        options = {**options, "margins": Margins.parse(margins)}
    try:
        return backend.with_task(BedrockTask(task=name, **options))  # type: ignore[arg-type]
    except TypeError as exc:
        raise InvalidRequest(f"Unknown option for the Bedrock task {name!r} ({exc}).") from exc


def _bedrock_tasks() -> list[TaskInfo]:
    from backends.bedrock import TASK_INFO

    return list(TASK_INFO.values())


# --- the table ----------------------------------------------------------------------------

KINDS: dict[str, BackendKind] = {
    "local": BackendKind(
        name="local", label="Local GPU",
        description="Runs on this computer with diffusers. Costs the electricity it draws.",
        capabilities=Capabilities(one_at_a_time=True, edit=True, loras=True),
        build=_build_local, model_field="model", target_field="model", target_hint="",
        missing_target="no model set", setup_problem=_local_setup_problem,
        product_scenes=_local_product_scenes),
    "sagemaker": BackendKind(
        name="sagemaker", label="SageMaker endpoint",
        description="Your own endpoint on AWS (Inferentia2 or GPU), billed per instance hour "
                    "while it runs.",
        capabilities=Capabilities(billed_by_the_hour=True),
        build=_build_sagemaker, model_field=None, target_field="endpoint_name",
        target_hint="ENDPOINT", missing_target="no endpoint set",
        setup_problem=_sagemaker_setup_problem,
        test_connection=lambda backend: backend.test_connection(),
        product_scenes=_sagemaker_product_scenes,
        hourly_usd=lambda backend: backend.fleet_usd_per_hour),
    "bedrock": BackendKind(
        name="bedrock", label="Amazon Bedrock",
        description="Managed image models, billed per image. No endpoint to run.",
        capabilities=Capabilities(fixed_sizes=True, steps_apply=False, sampler_applies=False,
                                  guidance_applies=False, speed_applies=False),
        build=_build_bedrock, model_field="model", target_field="model",
        target_hint="MODEL_ID", missing_target="no model set",
        test_connection=lambda backend: backend.test_connection(),
        product_scenes=_bedrock_product_scenes,
        tasks=_bedrock_tasks, with_task=_bedrock_with_task,
        lifecycle_warning=lambda backend, request: backend.lifecycle_warning(request)),
}
assert tuple(KINDS) == BACKENDS, "settings.values.BACKENDS lists the kinds of this table"
DEFAULT_BEDROCK_MODEL = BedrockSettings().model


def kind(name: str) -> BackendKind:
    try:
        return KINDS[name]
    except KeyError:
        raise BackendUnavailable(f"The {name!r} backend is not available in this build.") \
            from None


def kind_of(backend: Backend) -> BackendKind | None:
    """The row of a built backend; None for one this table does not know (a test double)."""
    return KINDS.get(getattr(backend, "name", ""))


def capabilities_of(backend: Backend) -> Capabilities:
    row = kind_of(backend)
    return row.capabilities if row is not None else DEFAULT_CAPABILITIES


def label_of(name: str) -> str:
    row = KINDS.get(name)
    return row.label if row is not None else name


def create_backend(settings: Settings) -> Backend:
    return kind(settings.backend).build(settings)


def request_model(settings: Settings) -> str:
    """The model a request names on the chosen backend ("" for an endpoint)."""
    return kind(settings.backend).request_model(settings)


def for_product_scenes(backend: Backend) -> Backend:
    """The backend as product scenes need it (Bedrock: its Inpaint service); InvalidRequest
    where this backend cannot make them."""
    row = kind_of(backend)
    return row.product_scenes(backend) if row is not None else backend


def tasks_of(name: str) -> list[TaskInfo]:
    """The tasks beyond plain generation a kind offers ([] for none)."""
    row = kind(name)
    return row.tasks() if row.tasks is not None else []


def with_task(backend: Backend, task: str, options: dict[str, Any] | None = None) -> Backend:
    """`backend` set to run `task` with its options; InvalidRequest where it has no tasks."""
    row = kind_of(backend)
    if row is None or row.with_task is None:
        label = row.label if row is not None else getattr(backend, "name", "this backend")
        raise InvalidRequest(f"{label} has no tasks beyond generating; tasks such as "
                             f"--task inpaint are for {', '.join(names_with_tasks())}.")
    return row.with_task(backend, task, dict(options or {}))


def lifecycle_warning(backend: Backend, request: Any) -> str:
    """A warning about the model `request` would run (Legacy, to be retired); '' if none."""
    row = kind_of(backend)
    return row.lifecycle_warning(backend, request) if row is not None else ""


def names_with_tasks() -> list[str]:
    return [name for name, row in KINDS.items() if row.with_task is not None]


def hourly_usd(backend: Backend) -> float | None:
    """What the backend bills by the hour while it is up, used or not (None: per use)."""
    row = kind_of(backend)
    return row.hourly_usd(backend) if row is not None else None


def burn_rate_text(backend: Backend, elapsed_s: float, images: int) -> str:
    """The burn-rate sentence for a backend that bills by the hour; '' for the others."""
    fleet = hourly_usd(backend)
    if fleet is None:
        return ""
    from backends.sagemaker.cost import BurnRate

    return BurnRate(fleet, 1, elapsed_s, images).describe()


def test_connection(settings: Settings) -> str:
    """Build the backend `settings` select and ask it to prove it can be reached."""
    row = kind(settings.backend)
    if row.test_connection is None:
        raise BackendUnavailable("Not available yet")
    return str(row.test_connection(row.build(settings)))


class BackendProvider:
    """The backend the current settings select, rebuilt only when its own settings change.

    Keeping the instance keeps the local pipeline warm across unrelated settings edits.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._cache: dict[str, tuple[object, Backend]] = {}

    def update(self, settings: Settings) -> None:
        self._settings = settings

    def current(self) -> Backend:
        return self.get(self._settings.backend)

    def get(self, name: str) -> Backend:
        row = kind(name)
        settings = self._settings.replace(backend=name)
        key = (row.section(settings), settings.electricity_usd_per_kwh,
               settings.costs.sagemaker_usd_per_hour, settings.costs.bedrock_usd_per_image)
        cached = self._cache.get(name)
        if cached is None or cached[0] != key:
            self._cache[name] = (key, row.build(settings))
        return self._cache[name][1]
