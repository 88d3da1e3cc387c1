# Copyright (c) mcl_mm contributors. All rights reserved.
from .color_jitter import ColorJitter, adjust_hue, hue_shift
from .load_image_checked import LoadImageChecked
from .maskco_views import MaskCoViews
from .montage_assembly import MontageAssembly
from .pyramid_views import PyramidViews

__all__ = [
    'ColorJitter', 'adjust_hue', 'hue_shift', 'LoadImageChecked',
    'MaskCoViews', 'MontageAssembly', 'PyramidViews'
]
