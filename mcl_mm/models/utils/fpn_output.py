# Copyright (c) mcl_mm contributors. All rights reserved.
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn


def fpn_single_output(fpn: nn.Module, inputs: Sequence[torch.Tensor],
                      index: int) -> torch.Tensor:
    """Compute one output of an mmdet ``FPN`` and nothing finer.

    Output ``index`` needs the laterals from ``index`` up to the top and
    the top-down additions between them, but none of the laterals or output
    convolutions of finer outputs. The result equals ``fpn(inputs)[index]``.

    Args:
        fpn (nn.Module): An mmdet ``FPN`` (``lateral_convs``, ``fpn_convs``,
            ``start_level`` and ``upsample_cfg`` are used).
        inputs (Sequence[torch.Tensor]): The backbone features fed to
            ``fpn``.
        index (int): Index of the wanted output, 0 being the finest.

    Returns:
        torch.Tensor: The FPN output ``index``.
    """
    top = len(fpn.lateral_convs) - 1
    if not 0 <= index <= top:
        raise ValueError(f'fpn_single_output: output {index} is outside the '
                         f'FPN outputs 0..{top}')
    x = fpn.lateral_convs[top](inputs[top + fpn.start_level])
    for i in range(top - 1, index - 1, -1):
        lateral = fpn.lateral_convs[i](inputs[i + fpn.start_level])
        if 'scale_factor' in fpn.upsample_cfg:
            x = lateral + F.interpolate(x, **fpn.upsample_cfg)
        else:
            x = lateral + F.interpolate(
                x, size=lateral.shape[2:], **fpn.upsample_cfg)
    return fpn.fpn_convs[index](x)
