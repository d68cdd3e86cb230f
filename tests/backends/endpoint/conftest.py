"""Fixtures for the handler's tests: tiny models of every family."""

from tests.backends.endpoint.tiny_families import family_dir, family_model

__all__ = ["family_dir", "family_model"]
