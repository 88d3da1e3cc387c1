# Copyright (c) mcl_mm contributors. All rights reserved.
from typing import Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from mmpretrain.registry import MODELS


@MODELS.register_module()
class C4Pyramid(nn.Module):
    """A feature pyramid made from one backbone map by interpolation.

    MCL's non-FPN (R50-C4) variant: output ``k`` is the C4 map bilinearly
    resized from ``in_stride`` to ``strides[k]``, so each montage level can
    read the sampling its tiles need (only the outputs
    a level reads are kept, see :func:`select_pyramid`). No weights.

    Args:
        strides (Sequence[int]): Stride of each output, finest first.
            Defaults to (2, 4, 8, 16): with a res5 tile head (stride 2),
            every level's tiles then end on 7x7 cells at 224 px.
        in_stride (int): Stride of the input map. Defaults to 16 (C4).
        in_index (int): Which backbone output to read. Defaults to -1.
        align_corners (bool): Of the bilinear interpolation.
    """

    def __init__(self,
                 strides: Sequence[int] = (2, 4, 8, 16),
                 in_stride: int = 16,
                 in_index: int = -1,
                 align_corners: bool = False) -> None:
        super().__init__()
        self.strides = tuple(strides)
        self.in_stride = in_stride
        self.in_index = in_index
        self.align_corners = align_corners

    @property
    def num_outs(self) -> int:
        """int: Number of pyramid outputs."""
        return len(self.strides)

    def forward_output(self, inputs: Sequence[torch.Tensor],
                       index: int) -> torch.Tensor:
        """Output ``index`` alone."""
        x = inputs[self.in_index]
        factor = self.in_stride / self.strides[index]
        if factor == 1:
            return x
        size = [round(s * factor) for s in x.shape[-2:]]
        return F.interpolate(
            x, size=size, mode='bilinear', align_corners=self.align_corners)

    def forward(self,
                inputs: Sequence[torch.Tensor]) -> Tuple[torch.Tensor, ...]:
        return tuple(
            self.forward_output(inputs, k) for k in range(self.num_outs))

    def extra_repr(self) -> str:
        return f'strides={self.strides}, in_stride={self.in_stride}'
