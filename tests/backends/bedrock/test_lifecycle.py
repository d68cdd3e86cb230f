"""Model lifecycle: retired models refused before sending, live reads from the control plane,
the service's own end-of-life answer, and what is kept between runs."""

from __future__ import annotations

from datetime import date

import pytest

from backends.bedrock import BedrockBackend, LifecycleBook, ModelRetired
from backends.bedrock.client import ConnectionSettings, RuntimeClient
from backends.bedrock.errors import Target
from backends.errors import InvalidRequest
from backends.types import GenerationRequest

NOVA = "amazon.nova-canvas-v1:0"
TITAN = "amazon.titan-image-generator-v2:0"
SD35 = "stability.sd3-5-large-v1:0"
REQUEST = GenerationRequest(prompt="a ceramic mug on linen", seed=1)


@pytest.mark.parametrize(("model", "eol"), [(NOVA, "2026-09-30"), (TITAN, "2026-06-30")])
def test_a_retired_model_is_refused_before_sending_with_date_and_replacement(
        make_backend, fake_bedrock, model, eol) -> None:
    with pytest.raises(ModelRetired) as caught:
        make_backend(model).generate(REQUEST)
    message = str(caught.value)
    assert isinstance(caught.value, InvalidRequest)  # the CLI's exit 2
    assert f"reached its end of life on Amazon Bedrock on {eol}" in message
    assert "Use Stable Diffusion 3.5 Large (stability.sd3-5-large-v1:0) instead" in message
    assert fake_bedrock.calls == []
    assert not make_backend(model).describe().available


def test_the_services_own_end_of_life_answer_maps_to_the_same_message(fake_bedrock) -> None:
    # Sent by hand, as Studio itself would refuse first.
    client = RuntimeClient(ConnectionSettings(region="us-east-1", endpoint_url=fake_bedrock.url))
    book = LifecycleBook.shipped()
    target = Target(NOVA, "Nova Canvas", "us-east-1", retired_message=book.retired_message(NOVA))
    with pytest.raises(ModelRetired, match="end of life on Amazon Bedrock on 2026-09-30"):
        client.invoke(target, {"taskType": "TEXT_IMAGE"})


def test_a_model_retired_after_studio_shipped_is_caught_from_the_live_lifecycle(
        make_backend, fake_bedrock) -> None:
    for summary in fake_bedrock.scenario.lifecycle:
        if summary["modelId"] == SD35:
            summary["modelLifecycle"] = {"status": "LEGACY", "legacyTime": "2026-06-01T00:00:00Z",
                                         "endOfLifeTime": "2026-11-30T00:00:00Z"}
    saved: list[LifecycleBook] = []
    backend = make_backend(SD35, on_lifecycle_read=saved.append)
    with pytest.raises(ModelRetired, match="on 2026-11-30 .*Bedrock's ListFoundationModels"):
        backend.generate(REQUEST)
    assert fake_bedrock.lifecycle_reads == 1 and fake_bedrock.calls == []
    assert saved and saved[0].read_on is not None


def test_a_legacy_model_works_and_carries_a_warning(make_backend, fake_bedrock) -> None:
    for summary in fake_bedrock.scenario.lifecycle:
        if summary["modelId"] == SD35:
            summary["modelLifecycle"] = {"status": "LEGACY",
                                         "endOfLifeTime": "2027-06-30T00:00:00Z"}
    backend = make_backend(SD35)
    assert backend.generate(REQUEST).images
    assert "Legacy model on Bedrock and will be retired on 2027-06-30" in \
        backend.lifecycle_warning(REQUEST)
    assert "Legacy" in backend.describe().detail


def test_without_permission_to_read_it_the_shipped_lifecycle_is_used(make_backend,
                                                                    fake_bedrock) -> None:
    fake_bedrock.scenario.lifecycle_denied = True
    backend = make_backend(SD35)
    assert backend.generate(REQUEST).images  # generating does not depend on the read
    assert "Could not read the model lifecycle" in backend.refresh_lifecycle()
    with pytest.raises(ModelRetired):
        backend.generate(REQUEST.replace(model=NOVA))


def test_the_lifecycle_is_read_at_most_once_a_day(make_backend, fake_bedrock) -> None:
    backend = make_backend(SD35)
    backend.generate(REQUEST)
    backend.generate(REQUEST)
    assert fake_bedrock.lifecycle_reads == 1
    fresh = LifecycleBook.from_dict(backend.lifecycle.to_dict())
    make_backend(SD35, lifecycle=fresh).generate(REQUEST)
    assert fake_bedrock.lifecycle_reads == 1  # what was read today is still fresh


def test_a_saved_book_round_trips_and_keeps_shipped_retirements(prices) -> None:
    book = LifecycleBook.shipped().with_live(
        [{"modelId": SD35, "modelName": "SD3.5 Large",
          "modelLifecycle": {"status": "ACTIVE"}}], date(2026, 12, 1))
    again = LifecycleBook.from_dict(book.to_dict())
    assert again.read_on == date(2026, 12, 1) and again.state(SD35) == "ACTIVE"
    assert again.state(NOVA) == "EOL"
    with pytest.raises(ValueError, match="malformed"):
        LifecycleBook.from_dict({"models": [{"model_id": "x"}]})
    assert BedrockBackend(SD35, prices=prices, lifecycle=again).lifecycle is again
