"""Objects the judge hands to the worker as call arguments (pickled judge -> worker).

The worker may import this module (unlike the properties): critics for the gradient
penalty, simple invertible transforms for flows, mock models for sampling loops. Keep
each fixture small, deterministic and free of any reference solution.
"""

from __future__ import annotations

import torch
from torch import nn
