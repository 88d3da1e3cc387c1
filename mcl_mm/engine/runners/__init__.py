# Copyright (c) mcl_mm contributors. All rights reserved.
from .montage_runner import (MontageRunner, apply_device_augment,
                             apply_montage_geometry)

__all__ = ['MontageRunner', 'apply_device_augment', 'apply_montage_geometry']
