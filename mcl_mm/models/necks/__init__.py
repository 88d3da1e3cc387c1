# Copyright (c) mcl_mm contributors. All rights reserved.
from .c4_pyramid import C4Pyramid

__all__ = ['C4Pyramid']
