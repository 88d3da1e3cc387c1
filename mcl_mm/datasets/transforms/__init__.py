# Copyright (c) mcl_mm contributors. All rights reserved.
from .maskco_views import MaskCoViews
from .montage_assembly import MontageAssembly
from .pyramid_views import PyramidViews

__all__ = ['MaskCoViews', 'MontageAssembly', 'PyramidViews']
