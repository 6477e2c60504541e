"""Wrong implementations, one module per topic; each property must catch at least one.

Every module defines ``CAUGHT_BY``: a dict mapping ``(exercise id, property name)`` to a
wrong implementation that the property must fail.
"""
