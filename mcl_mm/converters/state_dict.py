# Copyright (c) mcl_mm contributors. All rights reserved.
"""The state-dict helpers the converters and the probe share."""
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


def default_format(state: dict) -> dict:
    """``state`` with every tensor in the default (row-major) memory
    format and strides: a channels-last run saves its kernels channels-last
    (a 1x1 kernel differs in its strides only), and what is written from
    them must be the file the same weights give in the default format."""
    return {
        k:
        v.clone(memory_format=torch.contiguous_format)
        if torch.is_tensor(v) and v.dim() == 4 else v
        for k, v in state.items()
    }
