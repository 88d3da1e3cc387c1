# Copyright (c) mcl_mm contributors. All rights reserved.
from .mcl_head import MCLHead, default_level_weights
from .tile_embed_head import TileEmbedHead, split_tiles

__all__ = ['MCLHead', 'default_level_weights', 'TileEmbedHead', 'split_tiles']
