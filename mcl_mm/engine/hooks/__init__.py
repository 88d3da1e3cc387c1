# Copyright (c) mcl_mm contributors. All rights reserved.
from .montage_batch_check_hook import MontageBatchCheckHook

__all__ = ['MontageBatchCheckHook']
