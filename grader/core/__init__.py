"""What the `grade` CLI and the `genlab` TUI share, free of torch.

The catalog of exercises, the question bank (and its cache), the progress store, the course's
paths, the interface language, the grading result contract, exercise states and code hashes,
and the students' option order. Nothing in this package imports torch, Hypothesis or the
grading engine (tests/test_core_imports.py checks it): the TUI starts in under a second and
never runs student code in its process.
"""
