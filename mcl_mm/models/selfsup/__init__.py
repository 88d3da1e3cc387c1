# Copyright (c) mcl_mm contributors. All rights reserved.
from .mcl import MCL

__all__ = ['MCL']
