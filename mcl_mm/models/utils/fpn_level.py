# Copyright (c) mcl_mm contributors. All rights reserved.
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn


def fpn_single_level(fpn: nn.Module, inputs: Sequence[torch.Tensor],
                     level: int) -> torch.Tensor:
    """Compute one output of an mmdet ``FPN`` and nothing below it.

    Output ``level`` needs the laterals from ``level`` up to the top and the
    top-down additions between them, but none of the laterals or output
    convolutions of finer levels. The result equals ``fpn(inputs)[level]``.

    Args:
        fpn (nn.Module): An mmdet ``FPN`` (``lateral_convs``, ``fpn_convs``,
            ``start_level`` and ``upsample_cfg`` are used).
        inputs (Sequence[torch.Tensor]): The backbone features fed to
            ``fpn``.
        level (int): Index of the wanted output, 0 being the finest.

    Returns:
        torch.Tensor: The FPN output at ``level``.
    """
    top = len(fpn.lateral_convs) - 1
    if not 0 <= level <= top:
        raise ValueError(f'fpn_single_level: level {level} is outside the '
                         f'FPN outputs 0..{top}')
    x = fpn.lateral_convs[top](inputs[top + fpn.start_level])
    for i in range(top - 1, level - 1, -1):
        lateral = fpn.lateral_convs[i](inputs[i + fpn.start_level])
        if 'scale_factor' in fpn.upsample_cfg:
            x = lateral + F.interpolate(x, **fpn.upsample_cfg)
        else:
            x = lateral + F.interpolate(
                x, size=lateral.shape[2:], **fpn.upsample_cfg)
    return fpn.fpn_convs[level](x)
