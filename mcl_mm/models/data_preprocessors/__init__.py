# Copyright (c) mcl_mm contributors. All rights reserved.
from .montage_data_preprocessor import MontageDataPreprocessor

__all__ = ['MontageDataPreprocessor']
