# Copyright (c) mcl_mm contributors. All rights reserved.
"""The photometric view augmentation, one spec per op (see ``base.py``):
the CPU transform each stands for, its per-op device form and its stage
of the fused engine."""
from .base import (AUGMENTS, AugmentSpec, FusedStage, ViewLayout,
                   build_augment, spec_config_of)
from .color_jitter import ColorJitterSpec
from .config import apply_device_augment, apply_device_crop, split_pipeline
from .fused import ColourStage, FusedAugment, stage_signature
from .gaussian_blur import GaussianBlurSpec, GaussianBlurStage
from .grayscale import GrayscaleSpec
from .solarize import SolarizeSpec, SolarizeStage

__all__ = [
    'AUGMENTS', 'AugmentSpec', 'FusedStage', 'ViewLayout', 'build_augment',
    'spec_config_of', 'ColorJitterSpec', 'apply_device_augment',
    'apply_device_crop', 'split_pipeline', 'ColourStage', 'FusedAugment',
    'stage_signature', 'GaussianBlurSpec', 'GaussianBlurStage',
    'GrayscaleSpec', 'SolarizeSpec', 'SolarizeStage'
]
