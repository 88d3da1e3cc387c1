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
    The last checkpoint stays the one to resume from. All terms are checked
    with one read to the host. A diverged step's collapse metrics are NaN,
    not an error: this hook names the step by its loss.

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
        terms = {k: v for k, v in outputs.items() if 'loss' in k}
        if not terms:
            return
        tensors = [
            torch.as_tensor(v).detach().float().reshape(-1)
            for v in terms.values()
        ]
        # one read to the host for all terms; the names only on failure
        if bool(torch.isfinite(torch.cat(tensors)).all()):
            return
        values = {k: float(t.mean()) for k, t in zip(terms, tensors)}
        bad = {k: v for k, v in values.items() if not math.isfinite(v)}
        if bad:
            terms = ', '.join(f'{k}={v}' for k, v in bad.items())
            raise FloatingPointError(
                f'non-finite loss at iteration {runner.iter + 1}: {terms}. '
                'Lower the learning rate or check the data; resume from the '
                f'last checkpoint in {runner.work_dir}')
