"""Wrong implementations of the flows exercises."""

from __future__ import annotations

import math

import torch
from torch import nn

from grader.properties import flows as props
from grader.properties.flows import log_prob as props_log_prob

# ----------------------------------------------------------------------------- AffineCoupling


class CouplingShiftNetNoGrad(props._Coupling):
    """Runs the shift net under no_grad: correct values, but the shift net never trains."""

    def nets(self, x, m):
        with torch.no_grad():
            t = self.shift_net(m * x)
        return self.scale_net(m * x), t


class CouplingMaskParameter(props._Coupling):
    """Keeps the mask as a trainable parameter: an optimizer step would make it non-binary."""

    def __init__(self, mask, scale_net, shift_net):
        super().__init__(mask, scale_net, shift_net)
        del self.mask
        self.mask = nn.Parameter(mask.detach().clone())


class CouplingFloat32Inside(props._Coupling):
    """Computes in float32 whatever the input: loses float64 (and returns float32)."""

    def forward(self, x):
        self.float()
        return super().forward(x.float())

    def inverse(self, y):
        self.float()
        return super().inverse(y.float())


class CouplingLogDetDetached(props._Coupling):
    """Right values, but the log-det is detached: maximum likelihood would not train the scale net through it."""

    def log_det(self, s, m):
        return super().log_det(s.detach(), m)


# ----------------------------------------------------------------------------- log_prob


def lp_float32_inside(x, transforms):
    """Evaluates the base density in float32."""
    z, total = props._run(x, transforms)
    return (props._standard_normal(z.float()) + total.float())


def lp_no_grad(x, transforms):
    """Computes everything without autograd."""
    with torch.no_grad():
        z, total = props._run(x, transforms)
        return props._standard_normal(z) + total


def lp_log_det_detached(x, transforms):
    """Detaches the log-dets: x's gradient through z survives, the parameters' through the log-det does not."""
    z, total = props._run(x, transforms)
    return props._standard_normal(z) + total.detach()


def lp_pi_instead_of_two_pi(x, transforms):
    """Uses log π instead of log 2π in the constant."""
    z, total = props._run(x, transforms)
    return -0.5 * (z * z).sum(-1) - 0.5 * z.shape[-1] * math.log(math.pi) + total


# ----------------------------------------------------------------------------- sample


def s_float32_inside(z, transforms):
    """Runs the inverses in float32."""
    x = z.float()
    for t in reversed(list(transforms)):
        x, _ = t.float().inverse(x)
    return x


def s_no_grad(z, transforms):
    """Samples without autograd."""
    with torch.no_grad():
        x = z
        for t in reversed(list(transforms)):
            x, _ = t.inverse(x)
    return x


def s_detached_between_steps(z, transforms):
    """Detaches after every step but the first: gradients reach only the last-applied transform."""
    x = z
    for i, t in enumerate(reversed(list(transforms))):
        x, _ = t.inverse(x if i == 0 else x.detach())
    return x


def s_empty_returns_zeros(z, transforms):
    """Starts from zeros instead of z when there is nothing to undo."""
    if len(transforms) == 0:
        return torch.zeros_like(z)
    return props._s_forward_order(z, list(transforms)[::-1])


C, L, S = "flows.AffineCoupling", "flows.log_prob", "flows.sample"
CAUGHT_BY = {
    (C, "inverse_undoes_forward"): props._InverseSubtractsAfterScaling,
    (C, "log_dets_cancel"): props._InverseLogDetSameSign,
    (C, "masked_dims_pass_through"): props._MaskFlipped,
    (C, "log_det_is_log_abs_det_jacobian"): props._LogDetAllDims,
    (C, "known_answer"): props._ShiftThenScale,
    (C, "gradients_reach_both_nets"): CouplingShiftNetNoGrad,
    (C, "dtype_contract"): CouplingFloat32Inside,
    (C, "matches_reference"): props._ConditionsOnAllDims,
    (C, "gradients_match"): CouplingLogDetDetached,
    (L, "empty_list_is_standard_normal"): lp_pi_instead_of_two_pi,
    (L, "chain_rule"): props._lp_subtracts_log_det,
    (L, "density_integrates_to_one"): props._lp_no_log_det,
    (L, "gradients_known_answer"): lp_log_det_detached,
    (L, "dtype_contract"): lp_float32_inside,
    (L, "matches_reference"): props._lp_mean_over_dims,
    (L, "gradients_match"): lp_no_grad,
    (S, "inverts_forward_chain"): props._s_forward_order,
    (S, "small_chains"): s_empty_returns_zeros,
    (S, "gradient_known_answer"): s_no_grad,
    (S, "dtype_contract"): s_float32_inside,
    (S, "matches_reference"): props._s_calls_forward,
    (S, "gradients_match"): s_detached_between_steps,
}

# More wrong variants, each caught by some property (checked in tests/test_oracles_flows.py).
EXTRA = {
    (C, "gradients_reach_both_nets"): CouplingMaskParameter,
    (L, "chain_rule"): props._lp_reverse_order,
    (S, "small_chains"): props._s_returns_log_det_too,
}


# ----------------------------------------------------------------------------- numerical stability


def log_prob_of_normal_pdf_product(x, transforms):
    """log of the product of the per-dimension densities: underflows to log 0 = −inf far out."""
    z, total = x, torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
    for t in transforms:
        z, ld = t(z)
        total = total + ld
    pdf = torch.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    return torch.log(pdf.prod(dim=-1)) + total


CAUGHT_BY[(L, "finite_far_in_the_tails")] = props_log_prob._lp_log_of_density
STABILITY_WRONG = [
    (L, "finite_far_in_the_tails", props_log_prob._lp_log_of_density),
    (L, "finite_far_in_the_tails", log_prob_of_normal_pdf_product),
]


# ==================================================================================================
# Device contracts (issue 17, item 2): wrong only on a GPU. Each runs right on the CPU; the
# follows_the_device property (grader/properties/device.py) catches it on a simulated CUDA device.
# DEVICE_VARIANTS lists further variants it must catch (tests/test_device_check.py).
# ==================================================================================================
from grader.reference import load_reference as _load_reference  # noqa: E402
from tests.harness import SOLUTIONS as _SOLUTIONS  # noqa: E402

_dref = _load_reference(_SOLUTIONS, "flows")


class CouplingMaskPlainAttribute(nn.Module):
    """self.mask = mask: a plain attribute, which .to(device) leaves on the CPU."""

    def __init__(self, mask, scale_net, shift_net):
        super().__init__()
        self.mask = mask.detach().clone()
        self.scale_net, self.shift_net = scale_net, shift_net

    def forward(self, x):
        m = self.mask.to(x.dtype)
        s, t = (1 - m) * self.scale_net(m * x), (1 - m) * self.shift_net(m * x)
        return m * x + (1 - m) * (x * s.exp() + t), s.sum(dim=1)

    def inverse(self, y):
        m = self.mask.to(y.dtype)
        s, t = (1 - m) * self.scale_net(m * y), (1 - m) * self.shift_net(m * y)
        return m * y + (1 - m) * ((y - t) * (-s).exp()), -s.sum(dim=1)


class CouplingLogDetOnDefaultDevice(_dref.AffineCoupling):
    """Accumulates the log-determinant into torch.zeros(B) on the default device."""

    def forward(self, x):
        y, log_det = super().forward(x)
        total = torch.zeros(x.shape[0], dtype=x.dtype)
        total += log_det
        return y, total


def log_prob_total_on_default_device(x, transforms):
    """total_log_det = torch.zeros(B) without device=."""
    z, total = x, torch.zeros(x.shape[0], dtype=x.dtype)
    for transform in transforms:
        z, log_det = transform(z)
        total = total + log_det
    return -0.5 * (z * z).sum(dim=-1) - 0.5 * z.shape[-1] * math.log(2 * math.pi) + total


def sample_log_det_on_default_device(z, transforms):
    """Keeps a running log-det it does not need, in torch.zeros(B) on the default device."""
    x, total = z, torch.zeros(z.shape[0], dtype=z.dtype)
    for transform in reversed(transforms):
        x, log_det = transform.inverse(x)
        total += log_det
    return x


CAUGHT_BY[("flows.AffineCoupling", "follows_the_device")] = CouplingMaskPlainAttribute
CAUGHT_BY[("flows.log_prob", "follows_the_device")] = log_prob_total_on_default_device
CAUGHT_BY[("flows.sample", "follows_the_device")] = sample_log_det_on_default_device
DEVICE_VARIANTS = [("flows.AffineCoupling", CouplingLogDetOnDefaultDevice)]
