# Copyright (c) mcl_mm contributors. All rights reserved.
from .compat import (disable_incompatible_multimodal, missing_blip_imports,
                     transformers_incompatibility)
from .mmcv_ops import stand_in_for_missing_ops
from .safe_load import mmengine_safe_globals, register_safe_globals

__all__ = [
    'disable_incompatible_multimodal', 'missing_blip_imports',
    'transformers_incompatibility', 'mmengine_safe_globals',
    'register_safe_globals', 'stand_in_for_missing_ops'
]
