# Copyright (c) mcl_mm contributors. All rights reserved.
"""The montage: its geometry, where views and tiles sit, the copies' crops
on the device, and the pyramid output each level reads. Nothing here
imports the models or datasets."""
from .config import CROP_TYPES, apply_montage_geometry, assemblies, find_steps
from .geometry import MontageGeometry
from .layout import (montages_to_tiles, split_views, tile_origin,
                     tiles_to_montages, view_index)
from .pyramid import match_pyramid_outputs, select_pyramid
from .resized_crop import PILLOW_FILTERS, resample_weights, resized_crops

__all__ = [
    'apply_montage_geometry', 'assemblies', 'MontageGeometry',
    'montages_to_tiles', 'split_views', 'tile_origin', 'tiles_to_montages',
    'view_index', 'match_pyramid_outputs', 'select_pyramid', 'find_steps',
    'PILLOW_FILTERS', 'resample_weights', 'resized_crops', 'CROP_TYPES'
]
