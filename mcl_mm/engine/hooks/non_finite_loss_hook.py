# Copyright (c) mcl_mm contributors. All rights reserved.
import math
from typing import Optional

import torch
from mmengine.hooks import Hook

from mmpretrain.registry import HOOKS


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Stop training at the first non-finite loss, naming what went wrong.

    mmdet's ``CheckInvalidLossHook`` only asserts on the total; this hook
    reports the iteration and every loss term that is NaN or infinite, so a
    run that diverges stops with a message instead of training on NaNs.
    The last checkpoint stays the one to resume from.

    Args:
        interval (int): Check every ``interval`` iterations. Defaults to 1.
    """

    priority = 'VERY_HIGH'

    def __init__(self, interval: int = 1) -> None:
        self.interval = interval

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        if not outputs or not self.every_n_train_iters(runner, self.interval):
            return
        values = {
            key:
            float(value.detach()) if torch.is_tensor(value) else float(value)
            for key, value in outputs.items() if 'loss' in key
        }
        bad = {k: v for k, v in values.items() if not math.isfinite(v)}
        if bad:
            terms = ', '.join(f'{k}={v}' for k, v in bad.items())
            raise FloatingPointError(
                f'non-finite loss at iteration {runner.iter + 1}: {terms}. '
                'Lower the learning rate or check the data; resume from the '
                f'last checkpoint in {runner.work_dir}')
