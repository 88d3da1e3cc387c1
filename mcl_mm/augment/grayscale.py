# Copyright (c) mcl_mm contributors. All rights reserved.
"""mmcv's ``RandomGrayscale``."""
from typing import List, Sequence

import numpy as np
import torch

from mmpretrain.registry import TRANSFORMS
from .base import AUGMENTS, AugmentSpec, gray


@AUGMENTS.register_module(name='RandomGrayscale')
class GrayscaleSpec(AugmentSpec):
    """mmcv's ``RandomGrayscale``: the weighted channel sum, kept as three
    channels.

    - Draws (1 per image): whether the image turns grey.
    - Per-op form: the weighted sum.
    - Fused: the 4x4 map whose every colour row is the weights.

    Args:
        prob (float): Defaults to 0.1.
        channel_weights (Sequence[float]): Weights in the CPU pipeline's
            BGR order (as mmcv's transform takes them), normalised to sum 1.
        keep_channels (bool): Must be True (the views stay 3-channel).
    """

    colour = True
    draw_width = 1

    def __init__(self,
                 prob: float = 0.1,
                 channel_weights: Sequence[float] = (1., 1., 1.),
                 keep_channels: bool = True) -> None:
        super().__init__(prob)
        if not keep_channels:
            raise ValueError('RandomGrayscale on the device keeps 3 channels')
        self.channel_weights = tuple(channel_weights)
        total = float(sum(channel_weights))
        b, g, r = (w / total for w in channel_weights)
        self.rgb_weights = (r, g, b)
        self.register_buffer(
            'eye_flat', torch.eye(4).flatten(), persistent=False)

    def params(self) -> List[float]:
        """``prob``, then the grey 4x4 map, row-major."""
        m = torch.eye(4)
        m[:3, :3] = torch.tensor(self.rgb_weights)[None]
        return [self.prob] + m.flatten().tolist()

    def values(self, params: torch.Tensor,
               draws: torch.Tensor) -> torch.Tensor:
        """Per image, (n, 16) its flattened 4x4 map: grey or the
        identity."""
        prob, grey = params.split([1, 16], 1)
        return torch.where(draws < prob, grey, self.eye_flat)

    def draws_for(self) -> torch.Tensor:
        """Draws turning the image grey."""
        return torch.zeros(1)

    def cpu_reference(self, rgb: np.ndarray) -> np.ndarray:
        """mmcv's ``RandomGrayscale`` with ``prob=1`` (it truncates to 8
        bits)."""
        bgr = np.ascontiguousarray(rgb[..., ::-1])
        out = TRANSFORMS.build(
            dict(
                type='RandomGrayscale',
                prob=1.,
                keep_channels=True,
                channel_weights=self.channel_weights))(dict(img=bgr))['img']
        return np.ascontiguousarray(out[..., ::-1])

    def transform(self, x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
        return gray(x, self.rgb_weights).expand_as(x).contiguous()

    def compose(self, params: torch.Tensor, draws: torch.Tensor,
                maps: torch.Tensor, luma_mu: torch.Tensor) -> torch.Tensor:
        n = maps.size(0)
        return torch.bmm(self.values(params, draws).view(n, 4, 4), maps)
