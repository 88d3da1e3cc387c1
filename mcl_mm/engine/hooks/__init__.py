# Copyright (c) mcl_mm contributors. All rights reserved.
from .bad_image_hook import BadImageHook
from .collapse_metrics_hook import CollapseMetricsHook
from .dense_probe_hook import DenseProbeHook
from .freeze_by_name_hook import FreezeByNameHook
from .montage_batch_check_hook import MontageBatchCheckHook
from .non_finite_loss_hook import NonFiniteLossHook
from .preemption_hook import EXIT_PREEMPTED, PreemptionHook
from .safe_checkpoint_hook import (CheckpointSaveError, ResumeError,
                                   SafeCheckpointHook)
from .skipped_steps_hook import SkippedStepsHook

__all__ = [
    'BadImageHook', 'CheckpointSaveError', 'CollapseMetricsHook',
    'EXIT_PREEMPTED', 'PreemptionHook', 'DenseProbeHook', 'FreezeByNameHook',
    'MontageBatchCheckHook', 'NonFiniteLossHook', 'ResumeError',
    'SafeCheckpointHook', 'SkippedStepsHook'
]
