# Copyright (c) mcl_mm contributors. All rights reserved.
from .mcl_checkpoint import (REQUIRED, fpn_stages, load_mcl_state,
                             stage_channels)
from .targets import to_detectron2, to_mmdet, to_mmseg, to_torchvision

__all__ = [
    'REQUIRED', 'fpn_stages', 'load_mcl_state', 'stage_channels',
    'to_detectron2', 'to_mmdet', 'to_mmseg', 'to_torchvision'
]
