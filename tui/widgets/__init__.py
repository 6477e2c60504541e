"""Widgets of the genlab TUI, one concept per module."""
