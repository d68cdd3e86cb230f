"""Every family runs on the local backend from a tiny random-weight folder, with its defaults.

Nothing sets steps or guidance here: the family profile must fill them in, and the result
must say which family and licence made the image.
"""

from __future__ import annotations

import pytest
from PIL import Image

from backends import GenerationRequest, InvalidRequest
from backends.families import family_profile

# tiny family -> (family profile name, what the request does)
CASES = {
    "sd1": ("sd1", "txt2img"),
    "sd2": ("sd2", "txt2img"),
    "sdxl": ("sdxl", "txt2img"),
    "sd3": ("sd3", "txt2img"),
    "flux1": ("flux1-schnell", "txt2img"),
    "flux1-dev": ("flux1", "txt2img"),
    "flux1-fill": ("flux1-fill", "inpaint"),
    "flux1-kontext": ("flux1-kontext", "edit"),
    "flux2-klein": ("flux2-klein", "edit"),
    "flux2": ("flux2", "txt2img"),
    "qwen-image": ("qwen-image", "txt2img"),
    "qwen-image-edit": ("qwen-image-edit", "edit"),
    "qwen-image-edit-plus": ("qwen-image-edit-plus", "edit"),
    "z-image": ("z-image", "txt2img"),
}
SIZE = 64


def _request(model, mode: str, **changes) -> GenerationRequest:
    fields = dict(prompt="a leather tote on a marble counter", model=str(model), seed=7,
                  width=SIZE, height=SIZE)
    image = Image.new("RGB", (SIZE, SIZE), (200, 120, 40))
    if mode == "edit":
        fields.update(prompt="make the background a marble counter", init_image=image, edit=True)
    elif mode == "inpaint":
        mask = Image.new("L", (SIZE, SIZE), 0)
        mask.paste(255, (0, 0, SIZE, SIZE // 2))
        fields.update(init_image=image, mask=mask)
    fields.update(changes)
    return GenerationRequest(**fields)


@pytest.mark.slow
@pytest.mark.parametrize("tiny", list(CASES))
def test_each_family_runs_with_its_own_defaults_and_says_its_licence(
        tiny, tiny_family_path, local_backend_factory) -> None:
    expected, mode = CASES[tiny]
    backend = local_backend_factory(preview_every_s=0)
    steps = []
    result = backend.generate(_request(tiny_family_path(tiny), mode),
                              on_progress=lambda p: steps.append(p) if p.phase == "denoise"
                              else None)
    profile = family_profile(*_split(expected))
    assert result.family == profile.name == expected
    assert (result.request.steps, result.request.guidance) == (profile.steps, profile.guidance)
    assert result.licence == profile.licence and result.commercial_use == profile.commercial
    assert result.images[0].image.size == (SIZE, SIZE)
    # A preview at every step, whatever the latent layout (4/16 channels, packed or not).
    expected_steps = profile.steps if mode != "inpaint" else steps[-1].total  # × strength
    assert len(steps) == expected_steps > 0
    assert all(p.preview is not None and p.preview.mode == "RGB" for p in steps)


def _split(name: str) -> tuple[str, tuple[str, ...]]:
    for family in sorted(("sd1", "sd2", "sdxl", "sd3", "flux1", "flux2", "flux2-klein",
                          "qwen-image-edit",
                          "qwen-image", "z-image"), key=len, reverse=True):
        if name == family or name.startswith(family + "-"):
            rest = name[len(family) + 1:]
            return family, tuple(rest.split("-")) if rest else ()
    raise AssertionError(name)


def test_a_sampler_the_family_cannot_use_is_refused_before_loading(
        tiny_family_path, local_backend_factory) -> None:
    backend = local_backend_factory()
    with pytest.raises(InvalidRequest, match="cannot use the sampler 'euler_a'.*euler"):
        backend.generate(_request(tiny_family_path("flux1"), "txt2img", scheduler="euler_a"))
    assert backend.describe().detail == "no model loaded yet"


def test_editing_on_a_model_that_cannot_edit_is_refused_with_what_it_does(
        tiny_sd_path, local_backend_factory) -> None:
    with pytest.raises(InvalidRequest, match="cannot do editing by words"):
        local_backend_factory().generate(_request(tiny_sd_path, "edit"))


def test_chosen_steps_and_guidance_win_over_the_family_defaults(
        tiny_family_path, local_backend_factory) -> None:
    result = local_backend_factory().generate(
        _request(tiny_family_path("flux1-dev"), "txt2img", steps=2, guidance=5.0))
    assert (result.request.steps, result.request.guidance) == (2, 5.0)


def test_an_edit_changes_the_image_it_was_given(tiny_family_path,
                                                local_backend_factory) -> None:
    import numpy as np

    backend = local_backend_factory()
    model = tiny_family_path("flux1-kontext")
    red = backend.generate(_request(model, "edit", steps=2))
    blue = backend.generate(_request(model, "edit", steps=2,
                                     init_image=Image.new("RGB", (SIZE, SIZE), (20, 40, 220))))
    assert red.request.mode == "edit"
    assert not np.array_equal(np.asarray(red.images[0].image), np.asarray(blue.images[0].image))


@pytest.mark.parametrize("tiny", ["sd3", "flux1", "qwen-image", "z-image"])
@pytest.mark.parametrize("mode", ["img2img", "inpaint"])
def test_image_to_image_and_inpainting_on_the_transformer_families(
        tiny, mode, tiny_family_path, local_backend_factory) -> None:
    request = _request(tiny_family_path(tiny), "inpaint", steps=2, strength=1.0)
    if mode == "img2img":
        request = request.replace(mask=None)
    result = local_backend_factory().generate(request)
    assert result.request.mode == mode
    assert result.images[0].image.size == (SIZE, SIZE)
