"""Properties of the normalizing-flow exercises (q44–q51).

Transforms handed to the student's code are fixtures from ``grader.fixtures`` (the worker
can unpickle them); the judge runs the same fixtures itself to build expected values.

One module per exercise, holding its properties and its known mistakes; the modules are
imported in the order their exercises are listed.
"""

from __future__ import annotations

from grader.properties.device import register_device_contracts

# isort: off
# Importing an exercise module registers it: this order is the order of the topic's exercises.
from grader.properties.flows import affine_coupling as affine_coupling
from grader.properties.flows import log_prob as log_prob
from grader.properties.flows import sample as sample
# isort: on

# Known mistakes and helpers that tests/wrong/ builds its wrong implementations from.
from grader.properties.flows.affine_coupling import _ConditionsOnAllDims as _ConditionsOnAllDims
from grader.properties.flows.affine_coupling import _Coupling as _Coupling
from grader.properties.flows.affine_coupling import _InverseLogDetSameSign as _InverseLogDetSameSign
from grader.properties.flows.affine_coupling import _InverseSubtractsAfterScaling as _InverseSubtractsAfterScaling
from grader.properties.flows.affine_coupling import _LogDetAllDims as _LogDetAllDims
from grader.properties.flows.affine_coupling import _MaskFlipped as _MaskFlipped
from grader.properties.flows.affine_coupling import _ShiftThenScale as _ShiftThenScale
from grader.properties.flows.log_prob import _lp_mean_over_dims as _lp_mean_over_dims
from grader.properties.flows.log_prob import _lp_no_log_det as _lp_no_log_det
from grader.properties.flows.log_prob import _lp_reverse_order as _lp_reverse_order
from grader.properties.flows.log_prob import _lp_subtracts_log_det as _lp_subtracts_log_det
from grader.properties.flows.log_prob import _run as _run
from grader.properties.flows.log_prob import _standard_normal as _standard_normal
from grader.properties.flows.sample import _s_calls_forward as _s_calls_forward
from grader.properties.flows.sample import _s_forward_order as _s_forward_order
from grader.properties.flows.sample import _s_returns_log_det_too as _s_returns_log_det_too

# Last, after every exercise of the topic: the device contract of each (grader/properties/device.py).
register_device_contracts("flows")
