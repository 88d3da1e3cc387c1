# Copyright (c) mcl_mm contributors. All rights reserved.
from .montage_runner import MontageRunner, apply_device_augment

__all__ = ['MontageRunner', 'apply_device_augment']
