"""The worker: the only process that runs student code.

Started by the judge as ``python -m grader.worker FD_IN FD_OUT SUBMISSION_DIR``. It reads
pickled call requests from FD_IN, runs them against the student's topic modules (loaded by
path from SUBMISSION_DIR), and answers on FD_OUT with plain data only (see
``grader.protocol``). Its stdin is closed and its stdout/stderr go to a file the judge reads,
so neither ``print`` nor ``breakpoint()`` can touch the protocol pipes.

This module must not import the properties, the reference solutions or Hypothesis.

Over 300 lines on purpose: the worker's whole request loop (load, call, vjp, modules,
memory and device modes) stays in one file that is the only code student submissions run beside.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import os
import pickle
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from grader import memory_probe, protocol, worker_speed

# Module prefixes the worker refuses to import: the verdict side of the grader (every one names
# a module that exists; tests/test_worker_imports.py checks it).
FORBIDDEN_IMPORTS = ("solutions", "grader.properties", "grader.reference", "grader.release", "grader.runner", "hypothesis")


class ImportGuard(importlib.abc.MetaPathFinder):
    """Refuses imports of the judge's side (reference solutions, properties)."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        for prefix in FORBIDDEN_IMPORTS:
            if fullname == prefix or fullname.startswith(prefix + "."):
                raise ImportError(f"module {fullname!r} is not available to submissions")
        return None


def describe_error(exc: BaseException, submission: Path | None) -> dict[str, Any]:
    """Plain description of a student exception: type, message, the student's own frames."""
    try:
        message = str(exc)
    except Exception:
        message = "<the exception's message could not be shown>"
    frames = []
    for fs in traceback.extract_tb(exc.__traceback__):
        path = Path(fs.filename)
        if submission is None or _inside(path, submission):
            frames.append([str(path), fs.lineno or 0, fs.name, (fs.line or "")[:200]])
    if isinstance(exc, SyntaxError) and exc.filename and (submission is None or _inside(Path(exc.filename), submission)):
        frames.append([exc.filename, exc.lineno or 0, "<module>", (exc.text or "").strip()[:200]])
    return {
        "type": type(exc).__name__,
        "message": message[:2000],
        "frames": frames[-12:],
        "not_implemented": isinstance(exc, NotImplementedError),
        "out_of_memory": isinstance(exc, MemoryError) or "out of memory" in message.lower(),
        "device_lost": _is_sticky_device_error(exc, message),
    }


def _is_sticky_device_error(exc: BaseException, message: str) -> bool:
    """A CUDA error (device-side assert, illegal address) poisons the process's CUDA context:
    every later CUDA call fails too, so the worker must be replaced."""
    return type(exc).__name__ == "AcceleratorError" or ("CUDA error" in message and "out of memory" not in message.lower())


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder)
        return True
    except (ValueError, OSError):
        return False


class Dispatcher:
    """Executes call requests against student modules; shared by the worker and tests."""

    def __init__(self, load_topic: Callable[[str], Any], submission: Path | None, *, gpu_memory_mb: int | None = None) -> None:
        self._load_topic = load_topic
        self._modules: dict[str, Any] = {}
        self._handles: dict[int, Any] = {}
        self._submission = submission
        self._gpu_memory_mb = gpu_memory_mb
        self._gpu_capped = False

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        """Answer one request; never raises for anything the student code does."""
        op = request.get("op")
        if op == "ping":
            return {"value": "pong"}
        if op == "reset":
            self._handles.clear()
            return {"value": None}
        if op == "devices":
            import torch

            return {"value": bool(torch.cuda.is_available())}
        if op == "probe":
            return self._probe(request)
        try:
            return self._run(request)
        except StudentError as wrapped:
            return {"error": describe_error(wrapped.__cause__ or wrapped, self._submission)}
        except RequestError as exc:
            return {"error": {"type": "ContractError", "message": str(exc), "frames": [], "not_implemented": False, "out_of_memory": False}}
        except DeviceContractError as exc:
            return {"error": {"type": "DeviceContract", "message": exc.message, "frames": exc.frames, "not_implemented": False, "out_of_memory": False}}

    def _probe(self, request: dict[str, Any]) -> dict[str, Any]:
        """Load a topic module and check that it defines the exercise, without calling it."""
        try:
            module = self._module(request["topic"])
        except StudentError as wrapped:
            return {"error": {**describe_error(wrapped.__cause__ or wrapped, self._submission), "load_error": True}}
        except RequestError as exc:
            return {"error": {"type": "MissingModule", "message": str(exc), "frames": [], "not_implemented": False, "out_of_memory": False}}
        target = getattr(module, request["name"], None)
        if target is None:
            return {"error": {"type": "MissingName", "message": f"{request['topic']}.py defines no {request['name']!r}", "frames": [], "not_implemented": False, "out_of_memory": False}}
        return {"value": "class" if isinstance(target, type) else "function"}

    # ------------------------------------------------------------------ internals

    def _cap_gpu_memory(self) -> None:
        """Bound the GPU memory a submission may take, as the judge bounds its host memory.

        The judge cannot see GPU allocations, so the cap is set here, in the caching allocator,
        on the first CUDA call (not at start-up: creating a CUDA context costs time and memory
        that a CPU-only run should not pay). Over the cap, torch raises its out-of-memory error,
        which is reported as such.
        """
        if self._gpu_capped or self._gpu_memory_mb is None:
            return
        import torch

        self._gpu_capped = True
        total = torch.cuda.get_device_properties(0).total_memory
        torch.cuda.set_per_process_memory_fraction(min(1.0, self._gpu_memory_mb * 2**20 / total))

    def _module(self, topic: str) -> Any:
        if topic not in self._modules:
            try:
                self._modules[topic] = self._load_topic(topic)
            except FileNotFoundError as exc:
                raise RequestError(str(exc)) from None
            except BaseException as exc:  # noqa: BLE001 - a module that fails to import is the student's error
                if isinstance(exc, KeyboardInterrupt):
                    raise
                raise StudentError from exc
        return self._modules[topic]

    def _run(self, request: dict[str, Any]) -> dict[str, Any]:
        import torch

        device = request.get("device", "cpu")
        if device.startswith("cuda"):
            self._cap_gpu_memory()
        args = to_device(list(request.get("args", ())), device)
        kwargs = to_device(dict(request.get("kwargs", {})), device)
        vjp = request.get("vjp")
        instance = None
        if request.get("handle") is not None:
            instance = self._handles.get(request["handle"])
            if instance is None:
                raise RequestError("unknown object handle")
            target = getattr(instance, request.get("method") or "forward", None)
            if target is None:
                raise RequestError(f"{type(instance).__name__} has no method {request.get('method')!r}")
        else:
            module = self._module(request["topic"])
            target = getattr(module, request["name"], None)
            if target is None:
                raise RequestError(f"{request['topic']}.py defines no {request['name']!r}")

        wrt_tensors: list[Any] = []
        if vjp:
            for spec in vjp["wrt"]:
                if isinstance(spec, int) or (isinstance(spec, str) and spec != "params"):
                    container, key = (args, spec) if isinstance(spec, int) else (kwargs, spec)
                    value = container[key]
                    if isinstance(value, torch.Tensor):
                        container[key] = value.detach().clone().requires_grad_(True)
                        wrt_tensors.append(container[key])
                    else:
                        raise RequestError(f"argument {spec!r} is not a tensor")
        tracker = None
        if request.get("track_device"):
            tracker, args, kwargs = _device_tracker(self._submission, request, args, kwargs, instance)
        snapshot = _snapshot(args, kwargs)
        worker_speed.reseed(0)  # global randomness, if a submission uses it, is reproducible
        try:
            with torch.enable_grad() if vjp else torch.no_grad():
                if request.get("memory"):
                    with memory_probe.probe() as largest:  # only the forward call is measured
                        result = _call(target, args, kwargs, tracker)
                else:
                    result = _call(target, args, kwargs, tracker)
                if tracker is not None:
                    if tracker.violation is None and not request.get("new"):
                        tracker.check_result(result)
                    if tracker.violation is not None:  # also when the student's code caught it
                        raise DeviceContractError(tracker.violation.message, tracker.violation.frames)
                if request.get("new"):
                    if isinstance(result, torch.nn.Module):
                        result = result.to(device)
                    self._handles[request["handle_id"]] = result
                    value: Any = {"handle": request["handle_id"]}
                else:
                    value = result
                grads = self._vjp(vjp, result, wrt_tensors, instance, args) if vjp else None
            if device.startswith("cuda"):
                torch.cuda.synchronize()  # kernels run asynchronously: their errors belong to this call
        except (StudentError, RequestError, DeviceContractError):
            raise
        except BaseException as exc:  # noqa: BLE001 - student code may raise anything, SystemExit too
            if isinstance(exc, KeyboardInterrupt):
                raise
            if tracker is not None and tracker.violation is not None:
                raise DeviceContractError(tracker.violation.message, tracker.violation.frames) from None
            raise StudentError from exc
        answer: dict[str, Any] = {"value": value, "mutated": _mutated(snapshot, args, kwargs)}
        if grads is not None:
            answer["grads"] = grads
        if request.get("memory"):
            answer["memory"] = largest.largest.to_plain() if largest.largest is not None else None
        return answer

    def _vjp(self, vjp: dict[str, Any], result: Any, wrt_tensors: list[Any], instance: Any, args: list[Any]) -> Any:
        import torch

        from grader.fast_vjp import vjp_loss

        outputs, grad_outputs = [], []
        for out, g in zip(_flatten(result), _flatten(vjp["grad_outputs"]), strict=False):
            if g is None:
                continue
            if not isinstance(out, torch.Tensor) or not out.requires_grad:
                raise RequestError("the output is not differentiable: it has no autograd graph (was it detached, or built from .item()/numpy?)")
            outputs.append(out)
            grad_outputs.append(g.to(out.device, out.dtype))
        params: list[tuple[str, Any]] = []
        for spec in vjp["wrt"]:
            if spec == "params" and instance is not None:
                params += [(f"params.{n}", p) for n, p in instance.named_parameters() if p.requires_grad]
            elif isinstance(spec, list) and spec[0] == "params":
                params += [(f"args[{spec[1]}].{n}", p) for n, p in args[spec[1]].named_parameters() if p.requires_grad]
        inputs = wrt_tensors + [p for _, p in params]
        grads = torch.autograd.grad(vjp_loss(outputs, grad_outputs), inputs, allow_unused=True, create_graph=False)  # no sympy: grader.fast_vjp
        n = len(wrt_tensors)
        return {"inputs": list(grads[:n]), "params": {name: g for (name, _), g in zip(params, grads[n:], strict=True)}}


class StudentError(Exception):
    """Wraps an exception raised by student code (the cause)."""


class RequestError(Exception):
    """The request cannot be served as asked (missing function, non-differentiable output)."""


class DeviceContractError(Exception):
    """A call checked on the simulated device (``grader.device_check``) broke the device contract."""

    def __init__(self, message: str, frames: list[list[Any]]) -> None:
        super().__init__(message)
        self.message = message
        self.frames = frames


def _device_tracker(submission: Path | None, request: dict[str, Any], args: list[Any], kwargs: dict[str, Any], instance: Any) -> tuple[Any, list[Any], dict[str, Any]]:
    """A tracker for a call graded as if on CUDA (see grader.device_check), with the inputs moved.

    A constructor runs on the CPU without checks (a module is built there and moved by
    ``.to(device)``); a method call first moves the object's parameters and buffers, as
    ``.to(device)`` does, and plain attributes stay behind. A call without tensor inputs
    creates on the default device, as under ``torch.set_default_device``.
    """
    from grader.device_check import DeviceTracker

    if request.get("new"):
        return DeviceTracker(submission, checking=False), args, kwargs
    has_inputs = instance is not None or _has_device_input((args, kwargs))
    tracker = DeviceTracker(submission, default_on_device=not has_inputs)
    if instance is not None:
        tracker.move(instance)
    return tracker, tracker.move(args), tracker.move(kwargs)


def _call(target: Any, args: list[Any], kwargs: dict[str, Any], tracker: Any) -> Any:
    """The student's call, on the simulated device when there is a tracker."""
    if tracker is None:
        return target(*args, **kwargs)
    with tracker:
        return target(*args, **kwargs)


def _has_device_input(value: Any) -> bool:
    import torch

    if isinstance(value, (torch.Tensor, torch.nn.Module, torch.Generator)):
        return True
    if isinstance(value, (list, tuple)):
        return any(_has_device_input(v) for v in value)
    if isinstance(value, dict):
        return any(_has_device_input(v) for v in value.values())
    return False


def _flatten(value: Any) -> list[Any]:
    if isinstance(value, (list, tuple)):
        return [x for v in value for x in _flatten(v)]
    return [value]


def to_device(value: Any, device: str) -> Any:
    """Move tensors and modules inside a value to a device (the judge sends CPU objects)."""
    import torch

    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, torch.nn.Module):
        return value.to(device)
    if isinstance(value, torch.Generator):
        if device == "cpu":
            return value
        g = torch.Generator(device=device)
        g.manual_seed(value.initial_seed())
        return g
    if isinstance(value, list):
        return [to_device(v, device) for v in value]
    if isinstance(value, tuple):
        return tuple(to_device(v, device) for v in value)
    if isinstance(value, dict):
        return {k: to_device(v, device) for k, v in value.items()}
    return value


def _snapshot(args: list[Any], kwargs: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    import torch

    items = [(f"argument {i + 1}", v) for i, v in enumerate(args)] + [(f"argument {k!r}", v) for k, v in kwargs.items()]
    return [(name, v, v.detach().clone()) for name, v in items if isinstance(v, torch.Tensor)]


def _mutated(snapshot: list[tuple[str, Any, Any]], args: list[Any], kwargs: dict[str, Any]) -> list[str]:
    import torch

    changed = []
    for name, tensor, before in snapshot:
        now = tensor.detach()
        same = now.shape == before.shape and now.dtype == before.dtype
        if same and now.is_floating_point():
            same = bool(((now == before) | (now.isnan() & before.isnan())).all())
        elif same:
            same = bool(torch.equal(now, before))
        if not same:
            changed.append(name)
    return changed


def load_topic_from(submission: Path) -> Callable[[str], Any]:
    """A loader for ``<submission>/<topic>.py`` as a fresh module named after the topic."""

    def load(topic: str) -> Any:
        path = submission / f"{topic}.py"
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found: the submission has no module for topic {topic!r}")
        spec = importlib.util.spec_from_file_location(topic, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[topic] = module
        spec.loader.exec_module(module)
        return module

    return load


def serve(fd_in: int, fd_out: int, submission: Path, *, gpu_memory_mb: int | None = None) -> None:
    """The worker's loop: one request in, one plain-data answer out, until the pipe closes."""
    import torch

    # Inputs are tiny, so one thread by default (pools only add wake-up latency); a batch sets
    # it per slot so that parallel workers do not oversubscribe the cores.
    torch.set_num_threads(max(1, int(os.environ.get("GENLAB_WORKER_THREADS", "1"))))
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    dispatcher = Dispatcher(load_topic_from(submission), submission, gpu_memory_mb=gpu_memory_mb)
    while True:
        try:
            length = protocol.read_length(fd_in)
            request = pickle.loads(protocol.read_exact(fd_in, length))  # noqa: S301 - from the judge
        except protocol.ChannelClosed:
            return
        answer = dispatcher.handle(request)
        try:
            payload = protocol.encode_plain(answer)
        except Exception as exc:  # noqa: BLE001 - a result we cannot encode is the student's problem
            payload = protocol.encode_plain({"error": {"type": "ContractError", "message": f"the result cannot be sent back: {exc}", "frames": [], "not_implemented": False, "out_of_memory": False}})
        protocol.write_frame(fd_out, payload)


def main() -> None:
    fd_in, fd_out, submission = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]).resolve()
    gpu_memory_mb = int(sys.argv[4]) if len(sys.argv) > 4 else None
    warm_up = "--warm-up" in sys.argv[5:]
    from grader.sandbox import apply_rlimits

    apply_rlimits()  # here, not in a preexec_fn: batch slots start workers from threads
    sys.meta_path.insert(0, ImportGuard())
    # The submission folder is importable (a topic may import a sibling); the course root is not.
    sys.path[:] = [p for p in sys.path if p not in ("", os.getcwd())]
    if warm_up:  # a spare of `grade watch`: before the submission's folder is importable
        worker_speed.warm_up()
    sys.path.insert(0, str(submission))
    serve(fd_in, fd_out, submission, gpu_memory_mb=gpu_memory_mb)
    os._exit(0)  # skip interpreter teardown: a submission may have left threads or atexit hooks


if __name__ == "__main__":
    main()
