# Copyright (c) mcl_mm contributors. All rights reserved.
from .montage_assembly import MontageAssembly

__all__ = ['MontageAssembly']
