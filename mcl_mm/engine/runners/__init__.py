# Copyright (c) mcl_mm contributors. All rights reserved.
from .montage_runner import MontageRunner, apply_montage_geometry

__all__ = ['MontageRunner', 'apply_montage_geometry']
