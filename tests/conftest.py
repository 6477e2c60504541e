import os

# Fewer examples keep the project's own suite fast; grading uses the default (30).
os.environ.setdefault("GENLAB_MAX_EXAMPLES", "15")
