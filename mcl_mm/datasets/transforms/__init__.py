# Copyright (c) mcl_mm contributors. All rights reserved.
from .load_image_checked import LoadImageChecked
from .maskco_views import MaskCoViews
from .montage_assembly import MontageAssembly
from .pyramid_views import PyramidViews

__all__ = [
    'LoadImageChecked', 'MaskCoViews', 'MontageAssembly', 'PyramidViews'
]
