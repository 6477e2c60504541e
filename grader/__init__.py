"""genlab's grading engine: the judge, the worker, the property API and the `grade` CLI."""

__version__ = "0.1.0"
