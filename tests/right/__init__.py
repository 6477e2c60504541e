"""Correct implementations written independently of the reference ("must pass"): each topic
module lists them in MUST_PASS as (exercise id, implementation); tests/test_right.py grades
them all and requires full marks, so that no property is stricter than the catalog."""
