"""Fixtures for the endpoint handler (the loopback server itself is in tests/conftest.py)."""

from __future__ import annotations

import types
from typing import Any

import pytest


@pytest.fixture
def handler_with() -> Any:
    """The real handler module with predict_fn replaced, e.g. by one that fails like a broken
    model or one that counts concurrent calls."""
    from backends.endpoint import inference

    def make(predict_fn: Any) -> types.SimpleNamespace:
        return types.SimpleNamespace(model_fn=inference.model_fn, input_fn=inference.input_fn,
                                     predict_fn=predict_fn, output_fn=inference.output_fn,
                                     BadRequest=inference.BadRequest)

    return make
