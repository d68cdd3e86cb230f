"""Fixtures for the SageMaker client's tests: tiny models of every family, shared with the
handler's tests (built once per session)."""

from tests.backends.endpoint.tiny_families import family_dir, family_model

__all__ = ["family_dir", "family_model"]
