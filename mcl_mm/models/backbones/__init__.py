# Copyright (c) mcl_mm contributors. All rights reserved.
from .resnet_stem_out import ResNetStemOut

__all__ = ['ResNetStemOut']
