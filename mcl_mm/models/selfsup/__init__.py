# Copyright (c) mcl_mm contributors. All rights reserved.
from .maskco import MaskCo
from .mcl import MCL
from .multi_level_supervised import MultiLevelSupervised

__all__ = ['MaskCo', 'MCL', 'MultiLevelSupervised']
