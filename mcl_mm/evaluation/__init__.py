# Copyright (c) mcl_mm contributors. All rights reserved.
from .dense_probe import ProbeSet, dense_probe, frozen_features
from .metrics import *  # noqa: F401,F403

__all__ = ['ProbeSet', 'dense_probe', 'frozen_features']
