"""Text helpers shared by the formats: cap sizes and strip what XML/JSON consumers choke on."""

from __future__ import annotations

import re

_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def cap(text: str, limit: int) -> str:
    """At most ``limit`` characters, saying how much was cut (students may print megabytes)."""
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n… ({len(text) - limit} more characters cut)"


def xml_safe(text: str) -> str:
    return _XML_ILLEGAL.sub("\ufffd", text)


def failure_text(message: str, counterexample: str, diagnosis: str | None, trace: str = "") -> str:
    parts = [message]
    if counterexample:
        parts.append("minimal failing input:\n" + counterexample)
    if trace:
        parts.append("where your code raised:\n" + trace)
    if diagnosis:
        parts.append("diagnosis: " + diagnosis)
    return "\n".join(p for p in parts if p)
