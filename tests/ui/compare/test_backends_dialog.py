"""Comparing backends: LoRAs go only to the backends that apply them."""

from __future__ import annotations

from backends.types import GenerationRequest, LoraRef
from studio.ui.compare.backends_dialog import CompareBackendsDialog


def test_loras_go_only_where_they_apply(qtbot, context) -> None:
    request = GenerationRequest("a mug", seed=1, loras=(LoraRef("owner/style", 0.8),))
    dialog = CompareBackendsDialog(context, request)
    qtbot.addWidget(dialog)
    assert dialog._request_for("local").loras == (LoraRef("owner/style", 0.8),)
    assert dialog._request_for("bedrock").loras == ()
    assert dialog._request_for("sagemaker").loras == ()
