# Copyright (c) mcl_mm contributors. All rights reserved.
"""The one key-prefix helper the converters and the probe share."""
from typing import Dict

import torch

State = Dict[str, torch.Tensor]


def prefixed(state: State, prefix: str, new_prefix: str = '') -> State:
    """The entries of ``state`` under ``prefix``, re-keyed under
    ``new_prefix`` (by default with the prefix stripped)."""
    return {
        new_prefix + k[len(prefix):]: v
        for k, v in state.items() if k.startswith(prefix)
    }
