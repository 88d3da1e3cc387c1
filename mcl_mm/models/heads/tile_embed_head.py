# Copyright (c) mcl_mm contributors. All rights reserved.
from typing import List, Optional, Sequence, Union

import torch
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import nn

from mmpretrain.registry import MODELS
from ...montage import montages_to_tiles


@MODELS.register_module()
class TileEmbedHead(BaseModule):
    """Embed every montage tile as its own instance.

    Each level's pyramid map is cut into its tiles; every tile then runs on
    its own (neighbours are not seen: convolutions pad each tile with zeros,
    as on RoIAlign features) through ``num_convs`` stacked 3x3 conv + norm +
    ReLU shared by all levels, is average-pooled and projected by an MLP.

    Args:
        in_channels (int): Channels of the pyramid maps. Defaults to 256.
        feat_channels (int): Channels of the stacked convs. Defaults to 256.
        num_convs (int): Number of stacked convs. Defaults to 4.
        projection (dict): Config of the projection MLP applied to the
            pooled tile features; an mmpretrain ``NonLinearNeck`` with
            ``with_avg_pool=True`` does the pooling too.
        conv_cfg (dict, optional): Config of the conv layers.
        norm_cfg (dict): Config of the norm layers after the convs.
            Defaults to ``dict(type='SyncBN')``.
        tile_layer (dict, optional): A module run on the tiles instead of
            the stacked convs, e.g. mmdet's ``ResLayer`` (res5) for the
            R50-C4 variant, as the C4 detector's RoI head runs res5 on RoI
            features. Defaults to None (the stacked convs).
        init_cfg (dict or list[dict], optional): Initialization config.
    """

    def __init__(
        self,
        projection: dict,
        in_channels: int = 256,
        feat_channels: int = 256,
        num_convs: int = 4,
        conv_cfg: Optional[dict] = None,
        norm_cfg: dict = dict(type='SyncBN'),
        tile_layer: Optional[dict] = None,
        init_cfg: Optional[Union[dict, List[dict]]] = dict(
            type='Kaiming', layer='Conv2d')
    ) -> None:
        super().__init__(init_cfg)
        if tile_layer is not None:
            self.tile_layer = MODELS.build(tile_layer)
            self._layer_name = 'tile_layer'
        else:
            self.shared_convs = nn.Sequential(*(ConvModule(
                in_channels if i == 0 else feat_channels,
                feat_channels,
                3,
                padding=1,
                conv_cfg=conv_cfg,
                norm_cfg=norm_cfg) for i in range(num_convs)))
            self._layer_name = 'shared_convs'
        self.projection = MODELS.build(projection)

    def forward(self, feats: Sequence[torch.Tensor],
                scales: Sequence[int]) -> List[torch.Tensor]:
        """Embed the tiles of every level in one pass.

        Args:
            feats (Sequence[torch.Tensor]): One (n_i, C, h_i, w_i) pyramid
                map per level, of the montages of that level.
            scales (Sequence[int]): Tiles per side r_i of each level.

        Returns:
            List[torch.Tensor]: One (n_i * r_i**2, D) embedding per level,
            tiles row-major as in :func:`montages_to_tiles`.
        """
        layer = getattr(self, self._layer_name)
        tiles = [montages_to_tiles(f, r) for f, r in zip(feats, scales)]
        sizes = [tuple(t.shape[-2:]) for t in tiles]
        if len(set(sizes)) == 1:  # the default output matching: one pass
            x = self.projection((layer(torch.cat(tiles)), ))[0]
            return list(x.split([t.size(0) for t in tiles]))
        # levels read pyramid outputs of different sampling (ablation):
        # one pass per tile size through the same layers
        return [self.projection((layer(t), ))[0] for t in tiles]
