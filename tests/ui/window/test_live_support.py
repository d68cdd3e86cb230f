"""Which models and backends live mode is offered for, read from the real family table and
the real backend kinds."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backends.families import family_profile
from backends.types import MAX_STEPS
from studio.backend_kinds import KINDS
from studio.ui.window.live_support import FEW_STEPS, billed, live_support

LOCAL, SAGEMAKER, BEDROCK = (KINDS[name] for name in ("local", "sagemaker", "bedrock"))


@pytest.mark.parametrize(("family", "variants", "label"), [
    ("sdxl", ("turbo",), "SDXL Turbo"),
    ("sdxl", ("lightning",), "SDXL Lightning"),
    ("flux1", ("schnell",), "FLUX.1 [schnell]"),
    ("sd3", ("turbo",), "Turbo"),
    ("flux2-klein", (), "klein"),
    ("z-image", (), "Z-Image"),
])
def test_few_step_models_are_offered_live(family, variants, label) -> None:
    profile = family_profile(family, variants)
    support = live_support(profile, LOCAL.capabilities, LOCAL.label, None)
    assert support.allowed and not support.billed
    assert profile.label in support.why and label.lower() in profile.label.lower()


@pytest.mark.parametrize(("family", "variants"), [
    ("sdxl", ()), ("flux1", ()), ("flux2", ()), ("qwen-image", ()), ("sd1", ()),
    ("flux2-klein", ("base",)),
])
def test_slow_models_say_why_live_is_off(family, variants) -> None:
    profile = family_profile(family, variants)
    support = live_support(profile, LOCAL.capabilities, LOCAL.label, None)
    assert not support.allowed
    assert f"{profile.label} takes {profile.steps} steps" in support.why
    assert "few-step" in support.why


def test_the_model_family_decides_not_the_steps_field() -> None:
    # A 28-step model at 4 steps makes noise, not a preview: live stays off.
    support = live_support(family_profile("flux1"), LOCAL.capabilities, LOCAL.label, 4)
    assert not support.allowed


@given(st.integers(min_value=1, max_value=MAX_STEPS))
def test_a_model_of_unknown_family_is_live_at_few_steps_only(steps: int) -> None:
    support = live_support(None, SAGEMAKER.capabilities, SAGEMAKER.label, steps)
    assert support.allowed == (steps <= FEW_STEPS)
    assert support.billed


def test_a_model_of_unknown_family_at_its_default_steps_is_not_live() -> None:
    support = live_support(None, LOCAL.capabilities, LOCAL.label, None)
    assert not support.allowed and f"Steps to {FEW_STEPS} or fewer" in support.why


def test_bedrock_has_no_steps_and_is_billed() -> None:
    support = live_support(None, BEDROCK.capabilities, BEDROCK.label, None)
    assert support.allowed and support.billed
    assert "Amazon Bedrock request, billed" in support.why


def test_only_this_machine_is_not_billed() -> None:
    assert {name for name, row in KINDS.items() if not billed(row.capabilities)} == {"local"}


def test_a_task_is_not_run_live() -> None:
    support = live_support(None, BEDROCK.capabilities, BEDROCK.label, None,
                           task="Remove background")
    assert not support.allowed and "Remove background" in support.why
