"""Incremental parsers that turn raw model text into core events as tokens arrive."""
