# Copyright (c) mcl_mm contributors. All rights reserved.
from .channels_last import is_channels_last, to_channels_last
from .collapse_metrics import collapse_metrics
from .foreach_ema import ForeachCosineEMA
from .fpn_output import fpn_single_output
from .montage_encoder import (encode_all_outputs, encode_montages,
                              pyramid_output)
from .montage_tiler import MontageTiler

__all__ = [
    'is_channels_last', 'to_channels_last', 'collapse_metrics',
    'ForeachCosineEMA', 'fpn_single_output', 'encode_all_outputs',
    'encode_montages', 'pyramid_output', 'MontageTiler'
]
