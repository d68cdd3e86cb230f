"""The harmonising pass: a light image-to-image of each composite, product still exact."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from backends.errors import InvalidRequest
from studio.product import Placement, ProductSceneBackend, place_product
from studio.product.importing import decode_product_photo
from tests.product.photos import product_photo
from tests.product.test_scenes import NoiseBackend


def _placed(harmonise: float):
    image, truth = product_photo((160, 128))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return place_product(decode_product_photo(buffer.getvalue()), truth, (128, 96),
                         Placement(harmonise=harmonise))


def _exact(image: Image.Image, placed) -> bool:
    inside = np.asarray(placed.mask) == 255
    return np.array_equal(np.asarray(image.convert("RGB"))[inside],
                          np.asarray(placed.source)[inside])


def test_each_image_gets_one_light_image_to_image_of_its_composite() -> None:
    placed = _placed(0.3)
    backend = NoiseBackend()
    result = ProductSceneBackend(backend, placed).generate(placed.request("on oak", seed=5,
                                                                          count=2))
    first, *second = backend.requests
    assert first.mode == "inpaint" and first.count == 2
    assert [(r.mode, r.strength, r.count, r.seed) for r in second] == [
        ("img2img", 0.3, 1, 5), ("img2img", 0.3, 1, 6)]
    # what the second pass starts from is the first pass's composite, product included
    assert _exact(second[0].init_image, placed)
    assert [image.seed for image in result.images] == [5, 6]
    assert all(_exact(image.image, placed) for image in result.images)
    assert result.composite
    assert result.timings.total_s == pytest.approx(3 * 0.6)
    assert result.cost.usd == pytest.approx(0.04)
    assert "harmonising pass at strength 0.3" in result.cost.basis


def test_the_estimate_includes_the_second_pass() -> None:
    plain, harmonising = _placed(0.0), _placed(0.3)
    backend = NoiseBackend()
    request = plain.request("on oak", count=3)
    assert ProductSceneBackend(backend, plain).estimate_cost(request).usd == pytest.approx(0.03)
    assert ProductSceneBackend(backend, harmonising).estimate_cost(
        harmonising.request("on oak", count=3)).usd == pytest.approx(0.06)


def test_without_harmonising_there_is_one_pass() -> None:
    placed = _placed(0.0)
    backend = NoiseBackend()
    ProductSceneBackend(backend, placed).generate(placed.request("on oak", seed=1))
    assert len(backend.requests) == 1


@pytest.mark.parametrize("strength", [0.01, 0.61, 1.0, -0.2])
def test_a_strength_that_would_repaint_or_do_nothing_is_refused(strength: float) -> None:
    with pytest.raises(InvalidRequest, match="harmonising strength"):
        Placement(harmonise=strength)


def test_it_round_trips_through_the_stored_placement() -> None:
    assert Placement.from_dict(Placement(harmonise=0.25).to_dict()).harmonise == 0.25
    assert Placement.from_dict({"fill": 0.5}).harmonise == 0.0


def test_too_few_steps_for_the_second_pass_are_refused_before_the_first_is_paid() -> None:
    placed = _placed(0.3)
    backend = NoiseBackend()
    with pytest.raises(InvalidRequest, match="raise the steps to at least 4"):
        ProductSceneBackend(backend, placed).generate(placed.request("on oak", seed=1,
                                                                     steps=2))
    assert backend.requests == []


class RefusesImageToImage(NoiseBackend):
    """Inpaints the scene but refuses the second pass, as an edit-only model would."""

    def generate(self, request, on_progress=None, cancel=None):
        if request.mode == "img2img":
            self.requests.append(request)
            raise InvalidRequest("this model cannot do image-to-image")
        return super().generate(request, on_progress, cancel)


def test_a_failed_second_pass_keeps_the_paid_first_pass_and_says_so() -> None:
    placed = _placed(0.3)
    backend = RefusesImageToImage()
    result = ProductSceneBackend(backend, placed).generate(placed.request("on oak", seed=3,
                                                                          count=2))
    assert [image.seed for image in result.images] == [3, 4]
    assert all(_exact(image.image, placed) for image in result.images)
    assert result.cost.usd == pytest.approx(0.02)  # the first pass, nothing lost
    assert "2 of 2 image(s) kept unharmonised" in result.cost.basis
    assert "cannot do image-to-image" in result.cost.basis
