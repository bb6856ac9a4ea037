"""Entry points and assembly: CLI, settings, the per-call pipeline factory and the HTTP app."""

__version__ = "0.2.0"
