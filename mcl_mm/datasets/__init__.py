# Copyright (c) mcl_mm contributors. All rights reserved.
from .coco_multi_label import CocoMultiLabel
from .image_file import BadImageError, decode_image, inspect_image
from .image_folder import ImageFolder
from .pad_collate import pad_collate
from .transforms import *  # noqa: F401,F403

__all__ = [
    'CocoMultiLabel', 'BadImageError', 'decode_image', 'inspect_image',
    'ImageFolder', 'pad_collate'
]
