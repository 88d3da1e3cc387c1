# Copyright (c) mcl_mm contributors. All rights reserved.
from typing import Optional

import torch
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import nn

from mmpretrain.registry import MODELS


@MODELS.register_module()
class MaskPredictionHead(BaseModule):
    """MaskCo's Mask Prediction Head (MPH) on the query's C5 map.

    It sees the features of the view whose region was masked and predicts
    the features the intact view has there; RoIAlign then reads the masked
    box from its output. The paper does not spell its layers out; ours (a
    config choice): ``num_convs`` 3x3 conv-norm-ReLU of ``feat_channels``
    followed by a 1x1 conv back to ``in_channels``.

    Args:
        in_channels (int): Channels of the backbone map. Defaults to 2048.
        feat_channels (int): Channels of the hidden convs. Defaults to 512.
        num_convs (int): Hidden 3x3 convs. Defaults to 2.
        norm_cfg (dict): Norm of the hidden convs.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(
        self,
        in_channels: int = 2048,
        feat_channels: int = 512,
        num_convs: int = 2,
        norm_cfg: dict = dict(type='BN'),
        init_cfg: Optional[dict] = dict(type='Kaiming', layer='Conv2d')
    ) -> None:
        super().__init__(init_cfg)
        self.convs = nn.Sequential(*(ConvModule(
            in_channels if i == 0 else feat_channels,
            feat_channels,
            3,
            padding=1,
            norm_cfg=norm_cfg) for i in range(num_convs)))
        self.out = nn.Conv2d(feat_channels if num_convs else in_channels,
                             in_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.convs(x))
