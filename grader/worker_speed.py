"""What keeps a worker's own cost per call small (runs in the worker: no judge-side imports).

- ``warm_up``: the modules a grading imports lazily on its first call, imported ahead of time
  by a warm spare (grader.warm) while the student edits. The costly one: a student's own
  gradient code that passes ``grad_outputs`` for a non-scalar output (the usual WGAN-GP
  idiom ``autograd.grad(scores, x, torch.ones_like(scores))``, or ``out.backward(g)``)
  imports ``torch.fx.experimental.symbolic_shapes`` and with it sympy, about 1.5 s on this
  course's machine, inside the first such call of every fresh worker. Only imports: no
  torch operation runs before the student's code, and nothing of the submission is
  imported (this runs before the submission's folder is on ``sys.path``).
- ``reseed``: ``torch.manual_seed(0)`` before every call, without its bookkeeping. On a
  machine where no accelerator can ever be used, torch still queues a lazy CUDA/XPU/MTIA
  seed each time, with a formatted stack trace (about 1 ms a call); seeding the CPU
  generator is then all that ``torch.manual_seed`` does that anything can observe.
"""

from __future__ import annotations

import importlib
from functools import cache

# Found by recording what a worker imports, beyond ``import torch``, while it grades each
# topic's exercises with the reference solutions, plus the students' gradient idiom above.
WARM_IMPORTS = (
    "torch.fx.experimental.symbolic_shapes",  # autograd with grad_outputs (sympy, mpmath)
    "grader.device_check",  # the simulated-device property
    "grader.fixtures",  # objects the judge passes as arguments (critics, mock models)
    "grader.tensor_pickle",  # how plain tensors arrive
)


def warm_up() -> None:
    for name in WARM_IMPORTS:
        importlib.import_module(name)


@cache
def _cpu_only() -> bool:
    """No device whose generator ``torch.manual_seed`` also seeds can ever be used here."""
    import torch

    return not (torch.cuda.is_available() or torch.xpu.is_available() or torch.mtia.is_available() or torch._C._has_mps or hasattr(torch, torch._C._get_privateuse1_backend_name()))


def reseed(seed: int = 0) -> None:
    """Exactly ``torch.manual_seed(seed)`` as far as the process can tell, faster on CPU-only machines."""
    import torch

    if _cpu_only():
        torch.default_generator.manual_seed(seed)
    else:
        torch.manual_seed(seed)
