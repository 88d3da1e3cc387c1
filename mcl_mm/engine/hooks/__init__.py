# Copyright (c) mcl_mm contributors. All rights reserved.
from .bad_image_hook import BadImageHook
from .freeze_by_name_hook import FreezeByNameHook
from .montage_batch_check_hook import MontageBatchCheckHook
from .non_finite_loss_hook import NonFiniteLossHook

__all__ = [
    'BadImageHook', 'FreezeByNameHook', 'MontageBatchCheckHook',
    'NonFiniteLossHook'
]
