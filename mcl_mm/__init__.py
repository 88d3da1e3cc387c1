# Copyright (c) mcl_mm contributors. All rights reserved.
"""mcl_mm: Multi-Level Contrastive Learning on OpenMMLab.

Importing the package registers its components in mmpretrain's registries
and lets mmengine checkpoints load with ``torch.load(weights_only=True)``;
first it turns off mmpretrain's multimodal models where the installed
transformers cannot import them, and stands in for mmcv's compiled ops
where mmcv was installed without them (pre-training calls none).
"""
from .utils import (disable_incompatible_multimodal, register_safe_globals,
                    stand_in_for_missing_ops)
from .version import __version__

disable_incompatible_multimodal()
stand_in_for_missing_ops()
register_safe_globals()

from . import augment, datasets, engine, evaluation, models  # noqa: E402,F401

__all__ = ['__version__']
