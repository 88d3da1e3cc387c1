# Copyright (c) mcl_mm contributors. All rights reserved.
from typing import List, Optional, Union

import torch

from mmpretrain.models.selfsup import BaseSelfSupervisor
from ..utils.channels_last import to_channels_last


class SelfSupervisor(BaseSelfSupervisor):
    """mmpretrain's ``BaseSelfSupervisor`` with what every model of this
    package shares: the channels-last switch and the collapse watch.

    - ``channels_last=True`` puts every 4-d parameter and buffer in the
      channels-last memory format when the model is built (before the
      runner moves it to the device and wraps it for DDP), and the image
      batches the data preprocessor emits too. cudnn then runs convolutions
      and batch norms without converting layouts. Checkpoints hold the same
      values either way: one saved with it loads without it.
    - ``watch_collapse``: whether ``loss`` also returns the collapse metrics
      (:func:`collapse_metrics`) of the model's embeddings. False by
      default; :class:`CollapseMetricsHook` sets it for the iterations
      that log, so no other training step computes them.

    Args:
        channels_last (bool): See above. Defaults to False.
        **kwargs: ``BaseSelfSupervisor``'s arguments.
    """

    watch_collapse: bool = False

    def __init__(self,
                 channels_last: bool = False,
                 init_cfg: Optional[Union[List[dict], dict]] = None,
                 **kwargs) -> None:
        super().__init__(init_cfg=init_cfg, **kwargs)
        self.channels_last = channels_last

    def init_weights(self) -> None:
        """Initialise as the parent does, in the default memory format:
        random initialisers fill tensors in storage order, so a seed gives
        the same weights with and without ``channels_last``."""
        if not self.channels_last:
            return super().init_weights()
        self.to(memory_format=torch.contiguous_format)
        super().init_weights()
        self.to(memory_format=torch.channels_last)

    def use_channels_last(self) -> None:
        """Apply ``channels_last``: called by subclasses once every
        submodule is built."""
        if self.channels_last:
            to_channels_last(self)
