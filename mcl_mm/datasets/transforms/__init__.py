# Copyright (c) mcl_mm contributors. All rights reserved.
from .maskco_views import MaskCoViews
from .montage_assembly import MontageAssembly

__all__ = ['MaskCoViews', 'MontageAssembly']
