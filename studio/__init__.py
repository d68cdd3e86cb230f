"""Studio: the app core. Importing it never imports torch, diffusers or Qt."""

__version__ = "0.1.0"
