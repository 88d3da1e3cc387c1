# Copyright (c) mcl_mm contributors. All rights reserved.
from typing import Optional

from mmengine.hooks import Hook
from mmengine.logging import print_log

from mmpretrain.registry import HOOKS
from .log_schedule import logger_hook, logs_after_iter


@HOOKS.register_module()
class SkippedStepsHook(Hook):
    """Log the optimizer steps mixed precision skipped, and the gradient
    norms, once per log interval.

    With :class:`MixedPrecisionOptimWrapper`, a step whose gradients are not
    finite is skipped (the loss scale backs off under float16). On each
    iteration that logs, this hook reads the wrapper's per-step figures
    (:meth:`~MixedPrecisionOptimWrapper.pop_step_stats`, one transfer) and
    puts into the log:

    - ``skipped_steps``: the steps skipped since the last log line;
    - ``grad_norm``: each step's clipped gradient norm, as mmengine's
      ``OptimWrapper`` logs it (averaged by the log processor).

    Past ``warn_fraction`` of an interval's steps skipped, it warns naming
    the iteration range. Other optimizer wrappers are left alone.

    Args:
        warn_fraction (float): Warn when more than this fraction of the
            steps of one interval were skipped. Defaults to 0.1.
    """

    priority = 'NORMAL'  # before LoggerHook: on the same log line

    def __init__(self, warn_fraction: float = 0.1) -> None:
        self.warn_fraction = warn_fraction
        self.interval = 0
        self.total_skipped = 0

    def before_train(self, runner) -> None:
        logger = logger_hook(runner)
        self.interval = logger.interval if logger is not None else 1

    def _flush(self, runner) -> None:
        wrapper = runner.optim_wrapper
        if not hasattr(wrapper, 'pop_step_stats'):
            return
        stats = wrapper.pop_step_stats()
        for norm in stats['grad_norm']:
            runner.message_hub.update_scalar('train/grad_norm', norm)
        steps = len(stats['skipped'])
        if not steps:
            return
        skipped = int(round(sum(stats['skipped'])))
        self.total_skipped += skipped
        runner.message_hub.update_scalar('train/skipped_steps', skipped)
        if skipped > self.warn_fraction * steps:
            last = runner.iter + 1
            print_log(
                f'mixed precision skipped {skipped} of the {steps} optimizer '
                f'steps of iterations {last - steps + 1}-{last} (gradients '
                f'not finite; {self.total_skipped} in all): a float16 loss '
                'scale settling in the first steps skips some; many more '
                'mean overflow, use bfloat16 or lower the learning rate',
                logger='current',
                level=30)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        if logs_after_iter(runner, batch_idx, self.interval):
            self._flush(runner)

    def after_train(self, runner) -> None:
        self._flush(runner)
