# Copyright (c) mcl_mm contributors. All rights reserved.
# mmdet's FPN is built as ``mmdet.FPN``: importing it registers it.
import mmdet.models.necks  # noqa: F401

from .backbones import *  # noqa: F401,F403
from .heads import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .selfsup import *  # noqa: F401,F403
from .utils import *  # noqa: F401,F403
