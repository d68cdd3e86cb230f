"""Family profiles: defaults fill what the user left unset; what a family cannot do is refused."""

from __future__ import annotations

import pytest
from PIL import Image

from backends import GenerationRequest, InvalidRequest
from backends.families import (
    GENERIC_STEPS,
    checked_with_defaults,
    family_names,
    family_profile,
)


def test_every_family_has_a_licence_and_sane_defaults() -> None:
    for name in family_names():
        profile = family_profile(name)
        assert profile.licence and profile.reference_repo
        assert 1 <= profile.steps <= 100 and 0 <= profile.guidance <= 30
        assert profile.size_multiple in (8, 16) and profile.modes


def test_defaults_apply_only_where_the_user_set_nothing() -> None:
    schnell = family_profile("flux1", ("schnell",))
    unset = schnell.with_defaults(GenerationRequest(prompt="a bag"))
    assert (unset.steps, unset.guidance) == (4, 0.0)
    chosen = schnell.with_defaults(GenerationRequest(prompt="a bag", steps=8, guidance=1.5))
    assert (chosen.steps, chosen.guidance) == (8, 1.5)


def test_a_sampler_the_family_cannot_use_is_refused_with_the_allowed_ones() -> None:
    request = GenerationRequest(prompt="a bag", scheduler="euler_a")
    with pytest.raises(InvalidRequest, match=r"cannot use the sampler 'euler_a'.*euler"):
        checked_with_defaults(family_profile("sd3"), request)
    assert checked_with_defaults(family_profile("sdxl"), request).scheduler == "euler_a"


def test_a_mode_the_family_cannot_do_is_refused_with_what_it_does() -> None:
    image = Image.new("RGB", (64, 64))
    edit = GenerationRequest(prompt="make it blue", init_image=image, edit=True, width=64,
                             height=64)
    with pytest.raises(InvalidRequest, match="cannot do editing by words; it does text to"):
        checked_with_defaults(family_profile("sdxl"), edit)
    assert checked_with_defaults(family_profile("qwen-image-edit"), edit).steps == 50
    with pytest.raises(InvalidRequest, match="cannot do text to image"):
        checked_with_defaults(family_profile("flux1", ("fill",)),
                              GenerationRequest(prompt="a bag"))


def test_size_multiple_and_negative_prompt_are_checked() -> None:
    with pytest.raises(InvalidRequest, match="multiple of 16: 1000 is not; try 992 or 1008"):
        checked_with_defaults(family_profile("flux1"),
                              GenerationRequest(prompt="a bag", width=1000))
    with pytest.raises(InvalidRequest, match="takes no negative prompt"):
        checked_with_defaults(family_profile("flux1"),
                              GenerationRequest(prompt="a bag", negative_prompt="blurry"))


def test_an_unknown_family_gets_generic_defaults_but_no_editing() -> None:
    assert checked_with_defaults(None, GenerationRequest(prompt="a bag")).steps == GENERIC_STEPS
    edit = GenerationRequest(prompt="make it blue", init_image=Image.new("RGB", (64, 64)),
                             edit=True)
    with pytest.raises(InvalidRequest, match="needs a model made for it"):
        checked_with_defaults(None, edit)


def test_licences_say_whether_commercial_use_is_allowed() -> None:
    assert family_profile("flux1", ("schnell",)).commercial
    assert not family_profile("flux1").commercial
    assert not family_profile("flux2-klein", ("9b",)).commercial
    assert family_profile("qwen-image").licence == "Apache-2.0"
