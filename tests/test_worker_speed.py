"""What makes a warm re-grade cheap changes nothing a grading can observe.

- plain tensors pickled as bytes (grader.tensor_pickle) arrive exactly as torch's own pickle
  delivers them (dtype, shape, strides, offset, storage size, requires_grad, identity);
- the worker's fast reseed leaves the generator exactly where ``torch.manual_seed`` does;
- the warm grader's remembered Hypothesis digests are the digests Hypothesis computes;
- a warm spare has imported the lazily-loaded modules before its first request, a plain
  worker has not.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch

from grader.tensor_pickle import dumps

TENSORS = {
    "contiguous": lambda: torch.randn(3, 4),
    "transposed": lambda: torch.randn(4, 3).T,
    "offset view": lambda: torch.randn(5)[1:4],
    "expanded": lambda: torch.randn(3).expand(4, 3),
    "empty": lambda: torch.zeros(0, 3),
    "scalar": lambda: torch.tensor(2.5),
    "bfloat16": lambda: torch.randn(3, dtype=torch.bfloat16),
    "float16": lambda: torch.randn(2, 2, dtype=torch.float16),
    "complex": lambda: torch.randn(3, dtype=torch.complex64),
    "conjugate bit": lambda: torch.randn(3, dtype=torch.complex64).conj(),
    "bool": lambda: torch.tensor([True, False]),
    "int64 slice": lambda: torch.arange(6).reshape(2, 3)[:, 1:],
    "requires grad": lambda: torch.randn(3, requires_grad=True),
    "parameter": lambda: torch.nn.Parameter(torch.randn(2)),
}


@pytest.mark.parametrize("make", TENSORS.values(), ids=TENSORS.keys())
def test_a_tensor_arrives_as_torch_pickles_it(make) -> None:
    torch.manual_seed(0)
    tensor = make()
    ours, same = pickle.loads(dumps((tensor, tensor)))
    theirs = pickle.loads(pickle.dumps(tensor))
    assert same is ours  # one object sent twice is one object, as with pickle's memo
    assert type(ours) is type(theirs) and ours.dtype == theirs.dtype and ours.shape == theirs.shape
    assert ours.stride() == theirs.stride() and ours.storage_offset() == theirs.storage_offset()
    assert ours.untyped_storage().nbytes() == theirs.untyped_storage().nbytes()
    assert ours.requires_grad == theirs.requires_grad and ours.is_conj() == theirs.is_conj()
    assert torch.equal(ours.detach().resolve_conj(), theirs.detach().resolve_conj())
    ours.detach().zero_()  # a storage of its own: the sender's tensor is untouched
    assert torch.equal(tensor.detach().resolve_conj(), theirs.detach().resolve_conj())


def test_modules_and_nested_requests_round_trip() -> None:
    module = torch.nn.Linear(2, 3)
    module.register_buffer("scale", torch.ones(2))
    request = {"op": "call", "args": (torch.randn(2, 2), [module]), "kwargs": {"mask": torch.ones(2, dtype=torch.bool)}}
    got = pickle.loads(dumps(request))
    assert type(got["args"][1][0].weight) is torch.nn.Parameter
    assert torch.equal(got["args"][1][0].weight, module.weight) and torch.equal(got["args"][1][0].scale, module.scale)
    assert torch.equal(got["args"][0], request["args"][0]) and torch.equal(got["kwargs"]["mask"], request["kwargs"]["mask"])


def test_fast_reseed_leaves_the_generators_where_manual_seed_does() -> None:
    from grader.worker_speed import reseed

    torch.randn(7)
    reseed(0)
    ours = (torch.get_rng_state(), torch.randn(5))
    torch.randn(7)
    torch.manual_seed(0)
    theirs = (torch.get_rng_state(), torch.randn(5))
    assert torch.equal(ours[0], theirs[0]) and torch.equal(ours[1], theirs[1])


def test_remembered_digests_are_hypothesis_digests() -> None:
    import hypothesis.core
    from hypothesis.internal.reflection import function_digest

    from grader.properties import load_topics
    from grader.warm import _remember_function_digests

    exercise = load_topics({"attention"})["attention.scaled_dot_product_attention"]
    tests = [p.test.hypothesis.inner_test for p in exercise.properties if hasattr(p.test, "hypothesis")]
    assert tests, "no Hypothesis-wrapped property found: the check below would check nothing"
    saved = hypothesis.core.function_digest
    try:
        _remember_function_digests()
        remembered = hypothesis.core.function_digest
        assert remembered is not function_digest
        for test in tests:
            assert remembered(test) == remembered(test) == function_digest(test)
    finally:
        hypothesis.core.function_digest = saved


@pytest.mark.slow
def test_a_warm_spare_has_imported_what_gradings_import_lazily(tmp_path: Path) -> None:
    from grader.connection import WorkerConnection

    (tmp_path / "probe.py").write_text("import sys\n\ndef loaded(name):\n    return name in sys.modules\n", encoding="utf-8")
    seen = {}
    for warm in (True, False):
        worker = WorkerConnection(tmp_path.resolve(), warm_up=warm)
        try:
            seen[warm] = worker.request({"op": "call", "topic": "probe", "name": "loaded", "args": ("torch.fx.experimental.symbolic_shapes",), "kwargs": {}}, 120.0).value["value"]
        finally:
            worker.stop()
    assert seen == {True: True, False: False}
