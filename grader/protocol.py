"""The wire format between the judge and the worker.

Judge -> worker frames are pickles (the worker trusts the judge). Worker -> judge frames are
*plain data only*: a JSON header plus raw tensor bytes, which the judge validates field by
field before it builds a single tensor. Nothing the worker sends is ever unpickled, so a
submission cannot smuggle an object (a Tensor subclass, a patched function) into the judge.

Frame layout (both directions): 8-byte big-endian length, then the payload. A worker payload
is: 4-byte header length, the UTF-8 JSON header, then the concatenated tensor blobs.
"""

from __future__ import annotations

import json
import math
import os
import struct
from typing import Any, NamedTuple

MAX_FRAME_BYTES = 256 * 1024 * 1024  # one answer never needs more for the course's small inputs
MAX_HEADER_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 16
MAX_ITEMS = 100_000
MAX_STRING = 1_000_000

# dtype name -> bytes per element. Anything else is refused.
DTYPE_SIZES: dict[str, int] = {
    "float16": 2,
    "bfloat16": 2,
    "float32": 4,
    "float64": 8,
    "complex64": 8,
    "complex128": 16,
    "int8": 1,
    "uint8": 1,
    "int16": 2,
    "int32": 4,
    "int64": 8,
    "bool": 1,
}


class ProtocolError(Exception):
    """A frame from the worker broke the protocol (malformed, too large, inconsistent)."""


class ChannelClosed(Exception):
    """The other end closed its pipe (the process ended)."""


# ----------------------------------------------------------------------------- framing


def write_frame(fd: int, payload: bytes) -> None:
    """Write one length-prefixed frame to a file descriptor."""
    data = struct.pack(">Q", len(payload)) + payload
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def read_exact(fd: int, n: int) -> bytes:
    """Read exactly n bytes or raise ChannelClosed."""
    chunks = []
    while n:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            raise ChannelClosed
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_length(fd: int, cap: int = MAX_FRAME_BYTES) -> int:
    """Read a frame's length prefix and check it against the size cap."""
    (length,) = struct.unpack(">Q", read_exact(fd, 8))
    if length > cap:
        raise ProtocolError(f"frame of {length} bytes exceeds the cap of {cap} bytes")
    return length


# ----------------------------------------------------------------------------- plain data


def encode_plain(value: Any) -> bytes:
    """Encode a worker answer (plain data and tensors) as a payload. Runs in the worker."""
    import torch

    blobs: list[bytes] = []

    def enc(v: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise ValueError("value nested too deeply to send")
        if v is None or isinstance(v, (bool, str)):
            return v
        if isinstance(v, int):
            return v
        if isinstance(v, float):
            return v if math.isfinite(v) else {"$float": repr(v)}
        if isinstance(v, torch.Tensor):
            t = v.detach()
            device = t.device.type
            # A dense copy: expanded (stride-0) or strided views must not reach .view(uint8).
            t = torch.empty(t.shape, dtype=t.dtype).copy_(t.to("cpu")).flatten()
            dtype = str(t.dtype).removeprefix("torch.")
            if dtype not in DTYPE_SIZES:
                raise ValueError(f"cannot send a tensor of dtype {dtype}")
            raw = t.view(torch.uint8).numpy().tobytes() if t.numel() else b""
            blobs.append(raw)
            return {
                "$tensor": len(blobs) - 1,
                "dtype": dtype,
                "shape": list(v.shape),
                "device": device,
                "requires_grad": bool(v.requires_grad),
                "type": type(v).__name__,
            }
        if isinstance(v, (list, tuple)):
            return {"$seq": "tuple" if isinstance(v, tuple) else "list", "items": [enc(x, depth + 1) for x in v]}
        if isinstance(v, dict):
            return {"$dict": [[enc(k, depth + 1), enc(x, depth + 1)] for k, x in v.items()]}
        # Anything else (a module, a numpy array, a custom object) is described, never sent.
        return {"$opaque": type(v).__qualname__, "repr": _safe_repr(v)}

    header = json.dumps(enc(value, 0), allow_nan=False).encode()
    return struct.pack(">I", len(header)) + header + b"".join(blobs)


def _safe_repr(v: Any) -> str:
    try:
        text = repr(v)
    except Exception:  # a student object may raise in __repr__
        text = f"<{type(v).__qualname__}>"
    return text[:200]


class Decoded(NamedTuple):
    """A decoded worker answer: the value, and the device each tensor was on in the worker."""

    value: Any
    devices: list[str]


def decode_plain(payload: bytes) -> Decoded:
    """Validate and decode a worker payload into plain Python values and fresh CPU tensors.

    Runs in the judge. Raises ProtocolError for anything malformed.
    """
    import torch

    if len(payload) < 4:
        raise ProtocolError("frame shorter than its header length")
    (hlen,) = struct.unpack(">I", payload[:4])
    if hlen > MAX_HEADER_BYTES or 4 + hlen > len(payload):
        raise ProtocolError("header length out of range")
    try:
        tree = json.loads(payload[4 : 4 + hlen].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"header is not valid JSON: {exc}") from None
    blob_area = memoryview(payload)[4 + hlen :]

    # Tensors reference blobs by index; blob i starts where blob i-1 ended, so offsets are
    # derived here from the declared shapes, never read from the frame.
    specs: list[tuple[str, list[int]]] = []
    items = 0

    def collect(node: Any, depth: int) -> None:
        nonlocal items
        items += 1
        if depth > MAX_DEPTH or items > MAX_ITEMS:
            raise ProtocolError("value too deep or too large")
        if isinstance(node, dict):
            if "$tensor" in node:
                dtype, shape, index = node.get("dtype"), node.get("shape"), node.get("$tensor")
                if dtype not in DTYPE_SIZES:
                    raise ProtocolError(f"tensor dtype {dtype!r} is not allowed")
                if not isinstance(shape, list) or not all(isinstance(s, int) and not isinstance(s, bool) and 0 <= s < 2**31 for s in shape) or len(shape) > 16:
                    raise ProtocolError(f"bad tensor shape {shape!r}")
                if index != len(specs):
                    raise ProtocolError("tensor blobs out of order")
                specs.append((dtype, shape))
            elif "$seq" in node:
                for x in _list_field(node, "items"):
                    collect(x, depth + 1)
            elif "$dict" in node:
                for pair in _list_field(node, "$dict"):
                    if not isinstance(pair, list) or len(pair) != 2:
                        raise ProtocolError("bad dict entry")
                    collect(pair[0], depth + 1)
                    collect(pair[1], depth + 1)
            elif "$float" in node or "$opaque" in node or "$error" in node:
                pass
            else:
                raise ProtocolError("unknown node in header")
        elif isinstance(node, str):
            if len(node) > MAX_STRING:
                raise ProtocolError("string too long")
        elif isinstance(node, list):
            raise ProtocolError("bare list in header")
        elif node is not None and not isinstance(node, (bool, int, float)):
            raise ProtocolError("unknown value in header")

    collect(tree, 0)

    offsets, pos = [], 0
    for dtype, shape in specs:
        nbytes = math.prod(shape) * DTYPE_SIZES[dtype]
        offsets.append((pos, nbytes))
        pos += nbytes
    if pos != len(blob_area):
        raise ProtocolError(f"declared tensors need {pos} bytes, the frame carries {len(blob_area)}")

    devices: list[str] = []

    def build(node: Any) -> Any:
        if isinstance(node, dict):
            if "$tensor" in node:
                dtype, shape = specs[node["$tensor"]]
                start, nbytes = offsets[node["$tensor"]]
                raw = bytearray(blob_area[start : start + nbytes])
                t = torch.frombuffer(raw, dtype=torch.uint8) if nbytes else torch.empty(0, dtype=torch.uint8)
                tensor = t.view(getattr(torch, dtype)).reshape(shape).clone()
                devices.append(str(node.get("device", "cpu"))[:32])
                return tensor
            if "$seq" in node:
                seq = [build(x) for x in node["items"]]
                return tuple(seq) if node["$seq"] == "tuple" else seq
            if "$dict" in node:
                return {_hashable(build(k)): build(v) for k, v in node["$dict"]}
            if "$float" in node:
                text = node["$float"]
                if text not in ("nan", "inf", "-inf"):
                    raise ProtocolError("bad float")
                return float(text)
            if "$opaque" in node:
                return Opaque(str(node["$opaque"])[:200], str(node.get("repr", ""))[:200])
            if "$error" in node:
                return node
        return node

    return Decoded(build(tree), devices)


def _list_field(node: dict, key: str) -> list:
    value = node.get(key)
    if not isinstance(value, list):
        raise ProtocolError(f"field {key!r} must be a list")
    return value


def _hashable(key: Any) -> Any:
    if isinstance(key, (str, int, float, bool, type(None), tuple)):
        return key
    raise ProtocolError("dict key must be a number or a string")


class Opaque:
    """Stands for a value the worker could not send as data (e.g. a returned module)."""

    def __init__(self, type_name: str, text: str) -> None:
        self.type_name = type_name
        self.text = text

    def __repr__(self) -> str:
        return f"<{self.type_name} object, not a tensor>"
