# Copyright (c) mcl_mm contributors. All rights reserved.
from .fpn_level import fpn_single_level
from .montage_tiler import MontageTiler

__all__ = ['fpn_single_level', 'MontageTiler']
