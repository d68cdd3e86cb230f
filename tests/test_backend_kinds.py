"""The one table of backend kinds: every kind is complete, and the app asks it, not names."""

from __future__ import annotations

import dataclasses

import pytest

from backends.errors import BackendUnavailable, InvalidRequest
from studio import backend_kinds
from studio.backend_kinds import (
    KINDS,
    capabilities_of,
    create_backend,
    for_product_scenes,
    hourly_usd,
    kind,
    request_model,
    tasks_of,
)
from studio.settings.values import BACKENDS, Settings
from tests.batch.fakes import FakeBackend


def test_every_kind_has_its_settings_section_and_builds_a_backend_of_its_name(aws_env) -> None:
    assert tuple(KINDS) == BACKENDS
    for name, row in KINDS.items():
        settings = Settings(backend=name)
        assert dataclasses.is_dataclass(row.section(settings))
        assert row.label and row.description and row.missing_target
        backend = create_backend(settings)
        assert backend.name == name and backend.describe().name == name


def test_the_request_model_and_targets_come_from_each_section() -> None:
    settings = Settings()
    assert request_model(settings.replace(backend="sagemaker")) == ""  # the endpoint's own
    bedrock = KINDS["bedrock"].with_target(settings, "stability.sd3-5-large-v1:0")
    assert bedrock.backend == "bedrock" and request_model(bedrock) == "stability.sd3-5-large-v1:0"
    endpoint = KINDS["sagemaker"].with_target(settings, "studio-sdxl")
    assert endpoint.sagemaker.endpoint_name == "studio-sdxl"
    assert KINDS["sagemaker"].with_model(endpoint, "ignored") == endpoint
    local = KINDS["local"].with_model(settings, "/models/sdxl")
    assert request_model(local.replace(backend="local")) == "/models/sdxl"
    assert KINDS["sagemaker"].target_text(settings) == "no endpoint set"


def test_an_unknown_kind_is_unavailable_and_an_unknown_backend_has_plain_abilities() -> None:
    with pytest.raises(BackendUnavailable, match="'comfy' backend is not available"):
        kind("comfy")
    fake = FakeBackend(name="fake")
    assert capabilities_of(fake) == backend_kinds.DEFAULT_CAPABILITIES
    assert for_product_scenes(fake) is fake and hourly_usd(fake) is None


def test_capabilities_say_what_each_kind_can_do() -> None:
    assert KINDS["local"].capabilities.one_at_a_time
    assert KINDS["sagemaker"].capabilities.billed_by_the_hour
    bedrock = KINDS["bedrock"].capabilities
    assert not bedrock.steps_apply and not bedrock.sampler_applies
    assert not bedrock.guidance_applies  # Stability's Bedrock bodies take no cfg scale
    assert [t.name for t in tasks_of("bedrock")][:3] == ["text-to-image", "image-to-image",
                                                          "inpaint"]
    assert tasks_of("local") == []


def test_product_scenes_on_bedrock_inpaint_and_jumpstart_endpoints_are_refused(aws_env) -> None:
    from backends.bedrock import Task

    bedrock = create_backend(Settings(backend="bedrock"))
    assert for_product_scenes(bedrock).task.task is Task.INPAINT
    jumpstart = Settings(backend="sagemaker").replace(sagemaker=dataclasses.replace(
        Settings().sagemaker, endpoint_name="js", payload_format="jumpstart"))
    with pytest.raises(InvalidRequest, match="JumpStart endpoints only do text-to-image"):
        for_product_scenes(create_backend(jumpstart))


def test_an_endpoint_bills_by_the_hour(aws_env) -> None:
    settings = KINDS["sagemaker"].with_target(Settings(), "e")
    settings = settings.replace(sagemaker=dataclasses.replace(settings.sagemaker,
                                                              region="us-east-1"))
    backend = create_backend(settings)
    assert hourly_usd(backend) == pytest.approx(1.408)
    assert "bills $1.408/h" in backend_kinds.burn_rate_text(backend, 3600, 10)
