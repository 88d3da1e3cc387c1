# Copyright (c) mcl_mm contributors. All rights reserved.
# mmdet's FPN, ResLayer (res5 tile head of the C4 variant) and Swin are
# built as ``mmdet.*``: importing them registers them.
import mmdet.models.backbones  # noqa: F401
import mmdet.models.necks  # noqa: F401
import mmdet.models.roi_heads.shared_heads  # noqa: F401

from .backbones import *  # noqa: F401,F403
from .data_preprocessors import *  # noqa: F401,F403
from .heads import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .necks import *  # noqa: F401,F403
from .selfsup import *  # noqa: F401,F403
from .utils import *  # noqa: F401,F403
