"""Prefect flows, intake, settings and the CLI: the thin layer that wires sources to the warehouse."""
