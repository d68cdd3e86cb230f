"""Product tests reuse the Bedrock fake server's fixtures (the endpoint server is global)."""

from __future__ import annotations

from tests.backends.bedrock.conftest import (  # noqa: F401 - fixtures, registered by import
    aws_home,
    fake_bedrock,
    make_backend,
    prices,
)
