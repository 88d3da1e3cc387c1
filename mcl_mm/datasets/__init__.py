# Copyright (c) mcl_mm contributors. All rights reserved.
from .coco_multi_label import CocoMultiLabel
from .transforms import *  # noqa: F401,F403

__all__ = ['CocoMultiLabel']
