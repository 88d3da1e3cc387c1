# Copyright (c) mcl_mm contributors. All rights reserved.
from .foreach_lars import ForeachLARS

__all__ = ['ForeachLARS']
