"""shifty-ent: per-tenant enterprise AI operations from one command line."""

__version__ = "0.1.0"
