"""The in-process property checks of one exercise on CUDA, run in a child process.

A wrong implementation that indexes out of range triggers a device-side assert on CUDA,
and that leaves the whole process's CUDA context unusable. So each exercise's checks run
in a child (``python -m tests.gpu_checks EXERCISE START``) that reports one JSON line per
check and exits with 3 once the context is poisoned; the parent (tests/test_gpu.py) starts
a fresh child from the next check.
"""

from __future__ import annotations

import json
import sys

import torch

from tests.harness import CAUGHT_BY, REGISTRY, failed_properties, grade_impl

POISONED = 3


def checks(exercise_id: str) -> list[tuple[str, str]]:
    """("catches", property) for every property, then ("diagnoses", mistake) for every known mistake."""
    exercise = REGISTRY[exercise_id]
    return [("catches", p.name) for p in exercise.properties] + [("diagnoses", m.name) for m in exercise.mistakes]


def run_check(exercise_id: str, kind: str, name: str) -> str | None:
    """None when the check holds on CUDA, else what went wrong."""
    if kind == "catches":
        result = grade_impl(exercise_id, CAUGHT_BY[(exercise_id, name)], only=name, device="cuda")
        if name not in failed_properties(result):
            return f"{exercise_id}:{name} let its wrong implementation pass on cuda"
        return None
    mistake = next(m for m in REGISTRY[exercise_id].mistakes if m.name == name)
    result = grade_impl(exercise_id, mistake.impl, device="cuda")
    failed = [p for p in result.properties if p.status == "failed"]
    if mistake.message not in {p.diagnosis for p in failed}:
        seen = "; ".join(f"{p.name}: {p.message[:200]}" for p in failed) or f"{result.status}: {result.message}"
        return f"{exercise_id}: mistake {name} was not diagnosed on cuda ({seen})"
    return None


def cuda_is_usable() -> bool:
    try:
        torch.ones(1, device="cuda").add_(1).cpu()
        torch.cuda.synchronize()
        return True
    except Exception:  # noqa: BLE001 - any CUDA error here means the context is gone
        return False


def main(exercise_id: str, start: int) -> int:
    for index, (kind, name) in enumerate(checks(exercise_id)):
        if index < start:
            continue
        print(json.dumps({"index": index, "problem": run_check(exercise_id, kind, name)}), flush=True)
        if not cuda_is_usable():
            return POISONED
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2])))
