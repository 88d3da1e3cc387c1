# Copyright (c) mcl_mm contributors. All rights reserved.
from .mask_prediction_head import MaskPredictionHead
from .mcl_head import MCLHead, default_level_weights
from .multi_layer_linear_head import MultiLayerLinearClsHead
from .multi_level_cls_head import MultiLevelClsHead
from .ssprl_head import SSPRLHead
from .tile_embed_head import TileEmbedHead

__all__ = [
    'MaskPredictionHead', 'MCLHead', 'default_level_weights',
    'MultiLayerLinearClsHead', 'MultiLevelClsHead', 'TileEmbedHead',
    'SSPRLHead'
]
