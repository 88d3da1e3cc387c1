# Copyright (c) mcl_mm contributors. All rights reserved.
from typing import Dict, Optional, Sequence

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmpretrain.registry import HOOKS


@HOOKS.register_module()
class FreezeByNameHook(Hook):
    """Keep parameters whose name contains a key frozen for its first
    iterations (SwAV-style prototype freezing).

    Unlike mmpretrain's ``SwAVHook(frozen_layers_cfg=...)`` every key keeps
    its own state, and nothing else (no queue) is attached.

    Args:
        frozen_iters (Dict[str, int]): Name substring -> iterations during
            which those parameters get no update.
    """

    priority = 'NORMAL'

    def __init__(self, frozen_iters: Dict[str, int]) -> None:
        self.frozen_iters = dict(frozen_iters)

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch: Optional[Sequence[dict]] = None) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        for key, iters in self.frozen_iters.items():
            frozen = runner.iter < iters
            for name, param in model.named_parameters():
                if key in name:
                    param.requires_grad_(not frozen)
