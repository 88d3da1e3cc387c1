# Copyright (c) mcl_mm contributors. All rights reserved.
from .base_selfsup import SelfSupervisor
from .maskco import MaskCo
from .mcl import MCL
from .multi_level_supervised import MultiLevelSupervised
from .ssprl import SSPRL

__all__ = ['MaskCo', 'MCL', 'MultiLevelSupervised', 'SelfSupervisor', 'SSPRL']
