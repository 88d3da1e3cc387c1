# Copyright (c) mcl_mm contributors. All rights reserved.
from .fpn_level import fpn_single_level
from .montage_encoder import (encode_montages, match_pyramid_levels,
                              pyramid_output)
from .montage_tiler import MontageTiler

__all__ = [
    'fpn_single_level', 'encode_montages', 'match_pyramid_levels',
    'pyramid_output', 'MontageTiler'
]
