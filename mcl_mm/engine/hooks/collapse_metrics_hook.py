# Copyright (c) mcl_mm contributors. All rights reserved.
from typing import List, Optional

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmpretrain.registry import HOOKS
from ...models.utils.collapse_metrics import collapse_metrics
from .log_schedule import logger_hook, logs_after_iter


@HOOKS.register_module()
class CollapseMetricsHook(Hook):
    """Compute the collapse metrics (:func:`collapse_metrics`: ``std`` and
    ``erank``) on the iterations that log, and on no other.

    - Models of this package (MCL, SS-PRL, MaskCo: ``watch_collapse``,
      see :class:`SelfSupervisor`) return them from their ``loss``, per
      level (``std_l{i}``) or grid (``std_g{s}``); the hook sets
      ``watch_collapse`` before each iteration that logs and clears it
      after, so the other training steps never compute them.
    - Other models (e.g. mmpretrain's stock BYOL) are watched through the
      outputs of ``module`` (its projections with ``module='neck'``): the
      hook keeps them only on the iterations that log and logs
      ``std{suffix}`` / ``erank{suffix}``, a baseline on the same plot.

    The values are the metrics of that one iteration (mmengine logs scalars
    whose names hold no ``loss``/``time`` as their latest value); the hook
    runs before ``LoggerHook`` so they reach the same log line.

    Args:
        interval (int, optional): Compute them every ``interval``
            iterations (and where the logger also logs at the end of an
            epoch); None follows ``default_hooks.logger.interval``, 0 turns
            them off. Defaults to None.
        module (str): Submodule watched in models without
            ``watch_collapse``. Defaults to 'neck'.
        suffix (str): Appended to the names logged for such models.
            Defaults to ''.
    """

    priority = 'NORMAL'

    def __init__(self,
                 interval: Optional[int] = None,
                 module: str = 'neck',
                 suffix: str = '') -> None:
        if interval is not None and interval < 0:
            raise ValueError('CollapseMetricsHook: interval must be None (the '
                             f"logger's), 0 (off) or > 0, got {interval}")
        self.interval = interval
        self.module = module
        self.suffix = suffix
        self._outputs: List[torch.Tensor] = []
        self._handle = None
        self._due = False

    @staticmethod
    def _model(runner):
        return runner.model.module if is_model_wrapper(
            runner.model) else runner.model

    def _capture(self, module, inputs, output) -> None:
        if not self._due:
            return
        if isinstance(output, (tuple, list)):
            output = output[0]
        self._outputs.append(output.detach().flatten(1))

    def before_train(self, runner) -> None:
        if self.interval is None:
            logger = logger_hook(runner)
            self.interval = logger.interval if logger is not None else 0
        model = self._model(runner)
        if not hasattr(model, 'watch_collapse') and self.interval:
            self._handle = model.get_submodule(
                self.module).register_forward_hook(self._capture)

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch: Optional[dict] = None) -> None:
        self._due = logs_after_iter(runner, batch_idx, self.interval)
        self._outputs = []
        model = self._model(runner)
        if hasattr(model, 'watch_collapse'):
            model.watch_collapse = self._due

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        model = self._model(runner)
        if hasattr(model, 'watch_collapse'):
            model.watch_collapse = False
        if self._outputs:
            metrics = collapse_metrics(torch.cat(self._outputs))
            for key, value in metrics.items():
                runner.message_hub.update_scalar(f'train/{key}{self.suffix}',
                                                 float(value))
        self._outputs = []
        self._due = False

    def after_train(self, runner) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None
