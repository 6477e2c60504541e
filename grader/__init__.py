"""genlab's grading engine: the judge, the worker, the property API and the `grade` CLI."""

__version__ = "0.1.0"


def load_ipython_extension(ipython: object) -> None:
    """`%load_ext grader` in Jupyter or Colab: adds `%grade q46` (see grader/ipython_ext.py)."""
    from grader.ipython_ext import load

    load(ipython)
