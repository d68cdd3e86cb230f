"""Fixtures for the SageMaker client and the endpoint: a real server on loopback."""

from __future__ import annotations

import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def tiny_endpoint_model(tiny_sd_path: Path) -> Any:
    """The tiny SD model loaded by the endpoint handler's own model_fn, once per session."""
    from backends.endpoint import inference

    return inference.model_fn(str(tiny_sd_path))


@pytest.fixture
def endpoint_server(tiny_endpoint_model: Any) -> Iterator[Any]:
    """`studio endpoint serve`'s server on a free loopback port, with the tiny model."""
    from backends.endpoint.server import EndpointServer

    requests: list[str] = []
    with EndpointServer(tiny_endpoint_model, port=0, access_log=requests.append) as server:
        server.requests = requests
        yield server


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
