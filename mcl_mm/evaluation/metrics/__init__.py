# Copyright (c) mcl_mm contributors. All rights reserved.
from .multi_layer_accuracy import MultiLayerAccuracy

__all__ = ['MultiLayerAccuracy']
