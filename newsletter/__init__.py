"""Campaigns as code: newsletter issues kept as YAML, rendered once, sent exactly once."""

__version__ = "0.1.0"
