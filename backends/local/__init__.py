"""Local generation with diffusers. Importing this package does not import torch."""

from backends.local.backend import LocalBackend, local_dependencies_missing
from backends.local.cost import EnergyPrice

__all__ = ["EnergyPrice", "LocalBackend", "local_dependencies_missing"]
