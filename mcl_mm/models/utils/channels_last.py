# Copyright (c) mcl_mm contributors. All rights reserved.
"""The channels-last memory format for a whole model: its parameters and
buffers, and the image batches its data preprocessor emits."""
from typing import Any

import torch
from torch import nn


def _inputs_channels_last(module: nn.Module, args: Any, output: Any) -> Any:
    """Forward hook of a data preprocessor: its 4-d image batches (a tensor
    or a list of them under ``inputs``) leave it in channels-last."""
    if not isinstance(output, dict) or 'inputs' not in output:
        return output

    def convert(x):
        if torch.is_tensor(x) and x.dim() == 4:
            return x.contiguous(memory_format=torch.channels_last)
        return x

    inputs = output['inputs']
    output['inputs'] = [convert(x) for x in inputs] if isinstance(
        inputs, (list, tuple)) else convert(inputs)
    return output


def to_channels_last(model: nn.Module) -> nn.Module:
    """Put ``model``'s 4-d parameters and buffers in channels-last, and the
    image batches of its ``data_preprocessor`` (where it has one) too.

    Do it before the model is wrapped for DDP (whose gradient buckets follow
    the parameters' strides). The values are unchanged: a state dict saved
    from it loads into the same model in the default format.

    Args:
        model (nn.Module): An mmengine model.

    Returns:
        nn.Module: ``model``, changed in place.
    """
    model.to(memory_format=torch.channels_last)
    preprocessor = getattr(model, 'data_preprocessor', None)
    if isinstance(preprocessor, nn.Module):
        preprocessor.register_forward_hook(_inputs_channels_last)
    return model


def is_channels_last(model: nn.Module) -> bool:
    """Whether ``model``'s first 4-d parameter is in channels-last (and is
    not also contiguous, as a 1x1 kernel is in both formats)."""
    for p in model.parameters():
        if p.dim() == 4 and p.shape[-2:] != (1, 1):
            return p.is_contiguous(memory_format=torch.channels_last)
    return False
