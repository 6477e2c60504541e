"""The device contract checked without a GPU (grader/device_check.py, grader/properties/device.py).

tests/test_properties.py already runs each exercise's CAUGHT_BY wrong implementation against
``follows_the_device`` and the reference against it; here: every further variant in
``DEVICE_VARIANTS`` of tests/wrong/, what the report says, and the tracker's rules.
"""

from __future__ import annotations

import importlib
import pkgutil
import re

import pytest
import torch

from grader.device_check import DeviceTracker, DeviceViolation
from grader.properties.device import CHECKED, NAME
from tests.harness import REGISTRY, failed_properties, grade_impl


def _variants() -> list[tuple[str, object]]:
    import tests.wrong

    found = []
    for info in pkgutil.iter_modules(tests.wrong.__path__):
        found += getattr(importlib.import_module(f"tests.wrong.{info.name}"), "DEVICE_VARIANTS", [])
    return found


VARIANTS = _variants()


def test_every_exercise_has_the_device_property() -> None:
    assert set(CHECKED) == set(REGISTRY)
    for exercise in REGISTRY.values():
        assert exercise.properties[-1].name == NAME, exercise.id


@pytest.mark.parametrize(("exercise_id", "wrong"), VARIANTS, ids=[f"{e}:{getattr(w, '__name__', w)}" for e, w in VARIANTS])
def test_device_variant_is_caught(exercise_id: str, wrong: object) -> None:
    result = grade_impl(exercise_id, wrong, only=NAME)  # type: ignore[arg-type]
    assert NAME in failed_properties(result), result.properties


def test_report_names_the_line_that_created_the_tensor() -> None:
    from tests.wrong.attention import sdpa_bias_on_default_device

    result = grade_impl("attention.scaled_dot_product_attention", sdpa_bias_on_default_device, only=NAME)
    (prop,) = result.properties
    assert prop.status == "failed"
    assert "created at attention.py" in prop.message and "device=x.device" in prop.message
    assert "Expected all tensors to be on the same device" in prop.message
    assert "(created here): bias = torch.zeros(q.shape[-2], k.shape[-2], dtype=q.dtype)" in prop.counterexample
    assert "(fails here): w = torch.softmax(" in prop.counterexample
    assert prop.counterexample.startswith("dtype: torch.float"), prop.counterexample  # the minimal input comes first


def test_plain_attribute_mask_is_reported_as_left_behind() -> None:
    from tests.wrong.flows import CouplingMaskPlainAttribute

    (prop,) = grade_impl("flows.AffineCoupling", CouplingMaskPlainAttribute, only=NAME).properties
    assert prop.status == "failed" and "plain attribute" in prop.message and "register_buffer" in prop.message, prop.message
    assert "(created here): self.mask = mask.detach().clone()" in prop.counterexample


def _run(fn, *args, default_on_device: bool = False):  # noqa: ANN001, ANN202
    tracker = DeviceTracker(None, default_on_device=default_on_device)
    args = tracker.move(list(args))
    with tracker:
        result = fn(*args)
    tracker.check_result(result)
    return result


def test_device_of_a_tagged_tensor_reads_cuda_and_factories_follow_it() -> None:
    def f(x):  # noqa: ANN001, ANN202
        assert x.device.type == "cuda" and x.is_cuda
        return x + torch.ones(x.shape, device=x.device) + torch.zeros_like(x) + x.new_ones(x.shape)

    assert torch.equal(_run(f, torch.zeros(2)), torch.full((2,), 2.0))


def test_iteration_type_as_and_moves_keep_track() -> None:
    def f(x):  # noqa: ANN001, ANN202
        rows = [row * torch.arange(2).type_as(x) for row in x]
        return torch.stack(rows) + torch.ones(2).to(x.device) + torch.ones(2).to(x) + torch.ones(2).cuda()

    _run(f, torch.ones(3, 2))


def test_cpu_scalars_and_cpu_indices_are_allowed_as_on_cuda() -> None:
    def f(x, schedule):  # noqa: ANN001, ANN202
        return x * torch.tensor(2.0) * schedule.cpu()[1] + x[torch.tensor([1, 0])]

    _run(f, torch.ones(2), torch.arange(3.0))


@pytest.mark.parametrize(
    ("fn", "words"),
    [
        (lambda x: x + torch.ones(2), "Expected all tensors to be on the same device"),
        (lambda x: x.cpu() * 2, "would return a tensor"),
        (lambda x: torch.from_numpy(x.numpy()), ".numpy()"),
        (lambda x: torch.arange(2)[x.long()], "stays on the CPU while the inputs are on the GPU"),
    ],
)
def test_what_a_cuda_run_refuses_is_a_violation(fn, words: str) -> None:  # noqa: ANN001
    with pytest.raises(DeviceViolation, match=re.escape(words)):
        _run(fn, torch.zeros(2))


def test_without_tensor_inputs_factories_create_on_the_default_device() -> None:
    _run(lambda n: torch.ones(n, n).tril(), 3, default_on_device=True)
    with pytest.raises(DeviceViolation, match="default device"):
        _run(lambda n: torch.ones(n, device="cpu"), 3, default_on_device=True)


def test_a_generator_on_the_device_draws_into_tensors_there() -> None:
    g = torch.Generator().manual_seed(0)
    _run(lambda g: torch.randn(2, generator=g, device=g.device), g)
    with pytest.raises(DeviceViolation, match="generator"):
        _run(lambda g: torch.randn(2, generator=g), g)


def test_grade_reports_a_plain_attribute_mask_with_the_students_lines(tmp_path) -> None:  # noqa: ANN001
    """Through `grade` and a real worker: the only failure of a buffer→attribute edit of the
    reference is follows_the_device, naming the submission's lines."""
    from tests.cli_helpers import ROOT, grade_json

    source = (ROOT / "solutions" / "pixelcnn.py").read_text()
    edited = source.replace('self.register_buffer("mask", mask, persistent=False)', "self.mask = mask")
    assert edited != source
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "pixelcnn.py").write_text(edited)
    code, report = grade_json("pixelcnn.MaskedConv2d", "--submission", str(tmp_path / "sub"), env={"GENLAB_PROGRESS": str(tmp_path / "p.sqlite3")})
    assert code == 1
    (exercise,) = report["exercises"]
    failed = [p for p in exercise["properties"] if not p["passed"]]
    assert [p["name"] for p in failed] == [NAME], failed
    assert "plain attribute" in failed[0]["message"] and "register_buffer" in failed[0]["message"]
    assert "pixelcnn.py:" in failed[0]["counterexample"] and "(fails here)" in failed[0]["counterexample"]


# ----------------------------------------------------------------------------------------------
# Correct on a GPU, so they must pass: the tracker's rules (0-d CPU scalars, CPU indices, .to(),
# torch.distributions with numbers, default-device factories in a function without tensor
# inputs, buffers) must not fail right code.
# ----------------------------------------------------------------------------------------------
import math  # noqa: E402

import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from grader.reference import load_reference  # noqa: E402
from tests.harness import SOLUTIONS  # noqa: E402


def sdpa_einsum_with_0d_scale(q, k, v, mask=None):
    d = torch.tensor(q.shape[-1], dtype=q.dtype)
    s = torch.einsum("...qd,...kd->...qk", q, k) / d.sqrt()
    if mask is not None:
        s = s.masked_fill(mask == 0, float("-inf"))
    w = F.softmax(s, dim=-1)
    return torch.einsum("...qk,...kd->...qd", w, v), w

def sdpa_additive_bias_on_device(q, k, v, mask=None):
    bias = torch.zeros(q.shape[-2], k.shape[-2], dtype=q.dtype, device=q.device)
    if mask is not None:
        bias = bias.masked_fill(mask.logical_not(), float("-inf"))
    w = (q @ k.mT / math.sqrt(q.shape[-1]) + bias).softmax(-1)
    return w @ v, w

def causal_tril_default_device(q_len, k_len=None):
    k_len = q_len if k_len is None else k_len
    return torch.tril(torch.ones(q_len, k_len, dtype=torch.bool), diagonal=k_len - q_len)

def causal_by_comparison(q_len, k_len=None):
    k_len = q_len if k_len is None else k_len
    i = torch.arange(q_len)[:, None] + (k_len - q_len)
    return torch.arange(k_len)[None, :] <= i

class MaskedConvBufferAndConv2d(nn.Conv2d):
    def __init__(self, in_channels, out_channels, kernel_size, mask_type, color_groups=1):
        super().__init__(in_channels, out_channels, kernel_size, padding=kernel_size // 2)
        ref = load_reference(SOLUTIONS, "pixelcnn")
        self.register_buffer("mask", ref.causal_mask(kernel_size, mask_type, in_channels, out_channels, color_groups), persistent=False)
    def forward(self, x):
        return F.conv2d(x, self.weight * self.mask.to(self.weight), self.bias, padding=self.padding)

def q_sample_gather(x0, t, noise, alphas_cumprod):
    a = alphas_cumprod.gather(0, t).to(x0.dtype).view(-1, *([1] * (x0.dim() - 1)))
    return a.sqrt() * x0 + (1 - a).sqrt() * noise

def log_prob_standard_normal_distribution(x, transforms):
    z, total = x, 0
    for tr in transforms:
        z, ld = tr(z)
        total = total + ld
    return torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(-1).to(x.dtype) + total

def greedy_new_zeros(model, input_ids, max_new_tokens, eos_token_id=None):
    ids = input_ids
    done = input_ids.new_zeros(input_ids.shape[0], dtype=torch.bool)
    for _ in range(max_new_tokens):
        nxt = model(ids)[:, -1].argmax(-1)
        if eos_token_id is not None:
            nxt = torch.where(done, torch.full_like(nxt, eos_token_id), nxt)
            done |= nxt == eos_token_id
        ids = torch.cat([ids, nxt.unsqueeze(1)], 1)
        if eos_token_id is not None and done.all():
            break
    return ids

def clip_labels_moved_with_to(image_emb, text_emb, logit_scale):
    i, t = F.normalize(image_emb, dim=-1), F.normalize(text_emb, dim=-1)
    logits = torch.as_tensor(logit_scale).exp() * i @ t.T
    labels = torch.arange(len(logits)).to(logits.device)
    return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2

def sample_on_the_generators_device(logits, generator, temperature=1.0, top_k=None, top_p=None):
    ref = load_reference(SOLUTIONS, "lm")
    probs = ref.filter_logits(logits, temperature, top_k, top_p).softmax(-1)
    u = torch.rand(probs.shape[0], 1, generator=generator, device=generator.device, dtype=probs.dtype)
    return (probs.cumsum(-1) < u).sum(-1).clamp_max(probs.shape[-1] - 1)


MUST_PASS = [
    ("attention.scaled_dot_product_attention", sdpa_einsum_with_0d_scale),
    ("attention.scaled_dot_product_attention", sdpa_additive_bias_on_device),
    ("attention.causal_mask", causal_tril_default_device),
    ("attention.causal_mask", causal_by_comparison),
    ("pixelcnn.MaskedConv2d", MaskedConvBufferAndConv2d),
    ("diffusion.q_sample", q_sample_gather),
    ("flows.log_prob", log_prob_standard_normal_distribution),
    ("lm.greedy_decode", greedy_new_zeros),
    ("clip.clip_loss", clip_labels_moved_with_to),
    ("lm.sample_next_token", sample_on_the_generators_device),
]


@pytest.mark.parametrize(("exercise_id", "impl"), MUST_PASS, ids=[f"{e}:{i.__name__}" for e, i in MUST_PASS])
def test_right_code_passes_the_device_check(exercise_id: str, impl: object) -> None:
    result = grade_impl(exercise_id, impl, only=NAME)  # type: ignore[arg-type]
    assert result.status == "passed", [(p.message, p.counterexample) for p in result.properties]


def test_a_violation_the_students_code_catches_is_still_reported() -> None:
    """The worker reports the first violation even when the student's code swallows the error."""
    import types

    from grader.worker import Dispatcher

    def swallowing(x):  # noqa: ANN001, ANN202
        try:
            return x + torch.ones(2)
        except Exception:  # noqa: BLE001 - what a submission may do
            return x

    dispatcher = Dispatcher(lambda topic: types.SimpleNamespace(f=swallowing), None)
    answer = dispatcher.handle({"op": "call", "topic": "t", "name": "f", "args": [torch.zeros(2)], "kwargs": {}, "track_device": True})
    assert answer["error"]["type"] == "DeviceContract", answer
    assert "same device" in answer["error"]["message"] and answer["error"]["frames"][-1][2] == "fails here"
    plain = dispatcher.handle({"op": "call", "topic": "t", "name": "f", "args": [torch.zeros(2)], "kwargs": {}})
    assert "error" not in plain  # without the flag nothing is tracked
