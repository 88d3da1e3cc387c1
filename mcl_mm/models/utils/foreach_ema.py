# Copyright (c) mcl_mm contributors. All rights reserved.
from math import cos, pi

import numpy as np
import torch
from mmengine.logging import MessageHub
from torch import nn

from mmpretrain.models.utils import CosineEMA


class ForeachCosineEMA(CosineEMA):
    """mmpretrain's :class:`CosineEMA` (BYOL's target network), updated with
    one multi-tensor (``torch._foreach_*``) op per stage and no host sync
    (after the first step, and the first after loading a state dict).

    mmengine's ``update_parameters`` runs ``avg_func`` per parameter, and
    :class:`CosineEMA`'s evaluates the cosine momentum there from the
    ``steps`` buffer, a tensor: per parameter two more ops and a read to the
    host, then one copy per buffer. Here the momentum is computed once per
    step by the same arithmetic, so on the CPU every update is bit-equal to
    :class:`CosineEMA`'s (``tests/test_models/test_utils/test_foreach.py``).
    The step count is read from the ``steps`` buffer once and then counted
    on the host too. Same arguments and state dict.

    Args:
        model (nn.Module): The online network to average.
        **kwargs: :class:`CosineEMA`'s arguments (``momentum``,
            ``end_momentum``, ``interval``, ``device``, ``update_buffers``).
    """

    def __init__(self, model: nn.Module, **kwargs) -> None:
        super().__init__(model, **kwargs)
        self._floating = [
            k for k, p in self.avg_parameters.items()
            if p.dtype.is_floating_point
        ]
        self._host_steps = None  # the steps buffer's value, once read

    def _load_from_state_dict(self, *args, **kwargs) -> None:
        super()._load_from_state_dict(*args, **kwargs)
        self._host_steps = None  # a new steps buffer: read it again

    def momentum_at(self, steps: int) -> float:
        """:class:`CosineEMA`'s momentum after ``steps`` updates (the
        ``steps`` buffer is a long tensor, so its cosine argument is
        float32 arithmetic, as in :meth:`CosineEMA.avg_func`)."""
        max_iters = MessageHub.get_current_instance().get_info('max_iters')
        angle = float(
            np.float32(pi) * np.float32(steps) / np.float32(max_iters))
        annealing = (cos(angle) + 1) / 2
        return self.end_momentum - (self.end_momentum -
                                    self.momentum) * annealing

    @torch.no_grad()
    def update_parameters(self, model: nn.Module) -> None:
        """Average the parameters of ``model`` into the target.

        Args:
            model (nn.Module): The online network.
        """
        source = (
            model.state_dict()
            if self.update_buffers else dict(model.named_parameters()))
        if self._host_steps is None:
            self._host_steps = int(self.steps)  # the one read to the host
        steps = self._host_steps
        if steps == 0:
            torch._foreach_copy_(
                list(self.avg_parameters.values()),
                [source[k] for k in self.avg_parameters])
        elif steps % self.interval == 0:
            averaged = [self.avg_parameters[k] for k in self._floating]
            current = [
                source[k].to(a.device)
                for k, a in zip(self._floating, averaged)
            ]
            momentum = self.momentum_at(steps)
            torch._foreach_mul_(averaged, 1 - momentum)
            torch._foreach_add_(averaged, current, alpha=momentum)
        if not self.update_buffers:
            buffers = list(self.module.buffers())
            if buffers:
                torch._foreach_copy_(buffers, list(model.buffers()))
        self.steps += 1
        self._host_steps += 1
