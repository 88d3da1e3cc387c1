# Copyright (c) mcl_mm contributors. All rights reserved.
from typing import List, Optional

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmpretrain.registry import HOOKS
from ...models.utils.collapse_metrics import collapse_metrics


@HOOKS.register_module()
class CollapseMetricsHook(Hook):
    """Log ``std`` and ``erank`` (:func:`collapse_metrics`) of a module's
    outputs during training, for models that do not log them themselves,
    e.g. mmpretrain's stock BYOL (``module='neck'``: its projections).

    MCL, SS-PRL and MaskCo return the same metrics from their ``loss``; this
    hook puts a baseline on the same plot. The outputs of every call of the
    module in an iteration are pooled; nothing enters the autograd graph.

    Args:
        module (str): Name of the submodule to watch. Defaults to 'neck'.
        suffix (str): Appended to the logged names (``std{suffix}``).
            Defaults to ''.
    """

    priority = 'LOW'

    def __init__(self, module: str = 'neck', suffix: str = '') -> None:
        self.module = module
        self.suffix = suffix
        self._outputs: List[torch.Tensor] = []
        self._handle = None

    def _capture(self, module, inputs, output) -> None:
        if isinstance(output, (tuple, list)):
            output = output[0]
        self._outputs.append(output.detach().flatten(1))

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        self._handle = model.get_submodule(self.module).register_forward_hook(
            self._capture)

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch: Optional[dict] = None) -> None:
        self._outputs = []

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        if not self._outputs:
            return
        for key, value in collapse_metrics(torch.cat(self._outputs)).items():
            runner.message_hub.update_scalar(f'train/{key}{self.suffix}',
                                             float(value))
        self._outputs = []

    def after_train(self, runner) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None
