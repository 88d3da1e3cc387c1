# Copyright (c) mcl_mm contributors. All rights reserved.
from .tile_contrastive_loss import TileContrastiveLoss

__all__ = ['TileContrastiveLoss']
