# Copyright (c) mcl_mm contributors. All rights reserved.
"""When mmengine's ``LoggerHook`` writes a training log line: hooks that
compute or read figures only for the log follow the same rule."""
from typing import Optional

from mmengine.hooks import LoggerHook


def logger_hook(runner) -> Optional[LoggerHook]:
    """The runner's ``LoggerHook``, or None."""
    return next((h for h in runner.hooks if isinstance(h, LoggerHook)), None)


def logs_after_iter(runner, batch_idx: int, interval: int) -> bool:
    """Whether a ``LoggerHook`` with ``interval`` logs after the training
    iteration ``batch_idx`` (its own rule: every ``interval`` iterations of
    the loop, and at the end of an epoch unless ``ignore_last`` drops it).
    """
    if interval <= 0:
        return False
    if (batch_idx + 1) % interval == 0:
        return True
    logger = logger_hook(runner)
    ignore_last = logger.ignore_last if logger is not None else True
    dataloader = runner.train_dataloader
    return (batch_idx + 1 == len(dataloader)
            and (not ignore_last or len(dataloader) <= interval))
