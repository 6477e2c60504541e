"""The judge validates every frame from the worker before building anything."""

from __future__ import annotations

import json
import os
import struct

import pytest
import torch

from grader import protocol


def _payload(header: object, blobs: bytes = b"") -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack(">I", len(raw)) + raw + blobs


def test_round_trip_plain_values_and_tensors() -> None:
    value = {"value": (torch.arange(6.0).reshape(2, 3), [1, 2.5, None, "x", float("nan")], {"k": torch.tensor([True, False])})}
    decoded = protocol.decode_plain(protocol.encode_plain(value)).value
    t, items, d = decoded["value"]
    assert type(t) is torch.Tensor and torch.equal(t, torch.arange(6.0).reshape(2, 3))
    assert items[:4] == [1, 2.5, None, "x"] and items[4] != items[4]
    assert torch.equal(d["k"], torch.tensor([True, False]))


def test_strided_and_expanded_tensors_are_sent_densely() -> None:
    t = torch.arange(3.0).expand(4, 3).t()
    back = protocol.decode_plain(protocol.encode_plain(t)).value
    assert torch.equal(back, t)


def test_tensor_subclass_arrives_as_a_plain_tensor() -> None:
    class Sub(torch.Tensor):
        pass

    back = protocol.decode_plain(protocol.encode_plain(torch.ones(2).as_subclass(Sub))).value
    assert type(back) is torch.Tensor


def test_objects_are_described_not_sent() -> None:
    back = protocol.decode_plain(protocol.encode_plain(torch.nn.Linear(2, 2))).value
    assert isinstance(back, protocol.Opaque) and back.type_name == "Linear"


@pytest.mark.parametrize(
    ("header", "blobs", "match"),
    [
        ({"$tensor": 0, "dtype": "object", "shape": [1]}, b"\x00" * 8, "not allowed"),
        ({"$tensor": 0, "dtype": "float32", "shape": [2, 2]}, b"\x00" * 12, "need 16 bytes"),
        ({"$tensor": 0, "dtype": "float32", "shape": [-1]}, b"", "bad tensor shape"),
        ({"$tensor": 1, "dtype": "float32", "shape": [1]}, b"\x00" * 4, "out of order"),
        ({"$pickle": "gASV"}, b"", "unknown node"),
        ({"$float": "1e400"}, b"", "bad float"),
    ],
)
def test_malformed_frames_are_rejected(header: object, blobs: bytes, match: str) -> None:
    with pytest.raises(protocol.ProtocolError, match=match):
        protocol.decode_plain(_payload(header, blobs))


def test_not_json_is_rejected() -> None:
    with pytest.raises(protocol.ProtocolError, match="not valid JSON"):
        protocol.decode_plain(struct.pack(">I", 4) + b"\x80\x04K\x01")


def test_frame_size_cap() -> None:
    r, w = os.pipe()
    os.write(w, struct.pack(">Q", protocol.MAX_FRAME_BYTES + 1))
    with pytest.raises(protocol.ProtocolError, match="exceeds the cap"):
        protocol.read_length(r)
    os.close(r)
    os.close(w)
