"""Test helper imported by training subprocesses (``custom_imports``)."""
import os.path as osp

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmpretrain.registry import HOOKS


@HOOKS.register_module()
class StateProbeHook(Hook):
    """Save the runner's state when training starts and when it ends."""

    priority = 'LOWEST'

    def _dump(self, runner, tag: str) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        torch.save(
            dict(
                iter=runner.iter,
                model=model.state_dict(),
                optimizer=runner.optim_wrapper.state_dict(),
                schedulers=[s.state_dict() for s in runner.param_schedulers],
                message_hub=runner.message_hub.state_dict()),
            osp.join(runner.work_dir, f'probe_{tag}_rank{get_rank()}.pth'))

    def before_train(self, runner) -> None:
        self._dump(runner, 'before_train')

    def after_train(self, runner) -> None:
        self._dump(runner, 'after_train')
