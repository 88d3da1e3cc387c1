# Copyright (c) mcl_mm contributors. All rights reserved.
from .device_transforms import DEVICE_TRANSFORMS, build_device_transform
from .fused_augment import FusedAugment
from .montage_data_preprocessor import (MontageDataPreprocessor,
                                        device_transform_of)

__all__ = [
    'DEVICE_TRANSFORMS', 'build_device_transform', 'FusedAugment',
    'MontageDataPreprocessor', 'device_transform_of'
]
