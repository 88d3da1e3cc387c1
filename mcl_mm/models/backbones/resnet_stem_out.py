# Copyright (c) mcl_mm contributors. All rights reserved.
from typing import Tuple

import torch

from mmpretrain.models.backbones import ResNet
from mmpretrain.registry import MODELS


@MODELS.register_module()
class ResNetStemOut(ResNet):
    """ResNet that also returns its stem ("conv1") output.

    The multi-layer linear protocol (Goyal et al. 2019, as run by
    OpenSelfSup's multi-head benchmark) reads conv1..conv5: the stem after
    its ReLU and before max pooling, then the four stages. This backbone
    returns that stem output first, followed by the stages named in
    ``out_indices``; everything else (weights, names, freezing) is
    mmpretrain's :class:`ResNet`, so an MCL checkpoint's ``backbone.*``
    keys load unchanged.

    Args:
        **kwargs: Arguments of :class:`mmpretrain.models.ResNet`
            (``deep_stem`` is not supported: its stem has no single conv1).
    """

    def __init__(self, **kwargs) -> None:
        if kwargs.get('deep_stem', False):
            raise ValueError('ResNetStemOut: deep_stem=True has no single '
                             'conv1 output; use deep_stem=False')
        super().__init__(**kwargs)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        x = self.relu(self.norm1(self.conv1(x)))
        outs = [x]
        x = self.maxpool(x)
        for i, layer_name in enumerate(self.res_layers):
            x = getattr(self, layer_name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
