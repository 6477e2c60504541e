"""The screens of the genlab TUI, one per module."""
