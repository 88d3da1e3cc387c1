# Copyright (c) mcl_mm contributors. All rights reserved.
from typing import Callable, Dict, List, Optional, Tuple, Union

import torch

from mmpretrain.engine.optimizers import LARS
from mmpretrain.registry import OPTIMIZERS

# the group settings a LARS update reads
HYPER_PARAMETERS = ('lr', 'weight_decay', 'momentum', 'dampening', 'eta',
                    'nesterov')


@OPTIMIZERS.register_module()
class ForeachLARS(LARS):
    """mmpretrain's :class:`LARS`, each stage of its step one multi-tensor
    (``torch._foreach_*``) op over all parameters that share their settings,
    and no host sync.

    mmpretrain's step runs about nine ops per parameter and reads both norms
    of every parameter to the host (``.item()``): on a GPU, hundreds of
    kernel launches each separated by a sync. Here the trust ratios of a
    group are one float64 vector, computed in the order mmpretrain computes
    its Python floats, so on the CPU every update is bit-equal to
    :class:`LARS`'s (``tests/test_models/test_utils/test_foreach.py``); on
    a GPU the multi-tensor norm sums in another order. Same arguments, same
    parameter-group keys (``lars_exclude``) and the same ``momentum_buffer``
    state, so
    checkpoints of either load into the other.

    Args:
        params (Iterable): Parameters or parameter groups.
        **kwargs: :class:`LARS`'s arguments (``lr``, ``momentum``,
            ``weight_decay``, ``dampening``, ``eta``, ``nesterov``,
            ``eps``).
    """

    def _trust(self, params: List[torch.Tensor], grads: List[torch.Tensor],
               group: dict) -> Union[float, List[torch.Tensor]]:
        """Each parameter's ``local_lr * lr``: LARS's trust ratio, 1 where
        the weight or the gradient norm is 0 or the group is excluded."""
        lr = group['lr']
        if group.get('lars_exclude', False):
            return lr
        weight = torch.stack(torch._foreach_norm(params)).double()
        grad = torch.stack(torch._foreach_norm(grads)).double()
        ratio = group['eta'] * weight / (
            grad + group['weight_decay'] * weight + self.eps)
        local = torch.where((weight != 0) & (grad != 0), ratio, 1.)
        return list((local * lr).float().unbind())

    def add_param_group(self, param_group: dict) -> None:
        """Add a parameter group, as a plain ``dict``: mmengine's optimizer
        constructor hands its groups over as ``ConfigDict``, which
        ``torch.compile`` cannot trace in an optimizer's groups.

        Args:
            param_group (dict): The group's parameters and settings.
        """
        super().add_param_group(dict(param_group))

    @torch.no_grad()
    def step(
        self,
        closure: Optional[Callable[[], torch.Tensor]] = None
    ) -> Optional[torch.Tensor]:
        """One optimisation step.

        Args:
            closure (Callable, optional): Re-evaluates the model and
                returns the loss.

        Returns:
            torch.Tensor, optional: The closure's loss.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group, params in self._buckets().values():
            grads = [p.grad for p in params]
            steps = torch._foreach_add(
                grads, params, alpha=group['weight_decay'])
            torch._foreach_mul_(steps, self._trust(params, grads, group))
            if group['momentum'] != 0:
                steps = self._momentum(params, steps, group)
            torch._foreach_sub_(params, steps)
        return loss

    def _buckets(self) -> Dict[tuple, Tuple[dict, List[torch.Tensor]]]:
        """The parameters with a gradient, bucketed by their group's
        hyper-parameters: mmengine's optimizer constructor makes one group
        per parameter when ``paramwise_cfg`` is set, and parameters that
        share every setting take one multi-tensor op."""
        buckets: Dict[tuple, Tuple[dict, List[torch.Tensor]]] = {}
        for group in self.param_groups:
            params = [p for p in group['params'] if p.grad is not None]
            if params:
                key = tuple(group.get(k) for k in HYPER_PARAMETERS) + (bool(
                    group.get('lars_exclude', False)), )
                buckets.setdefault(key, (group, []))[1].extend(params)
        return buckets

    def _momentum(self, params: List[torch.Tensor], steps: List[torch.Tensor],
                  group: dict) -> List[torch.Tensor]:
        """LARS's momentum buffers updated with ``steps``; the updates."""
        momentum = group['momentum']
        old = []
        for p, d_p in zip(params, steps):
            state = self.state[p]
            if 'momentum_buffer' in state:
                old.append((state['momentum_buffer'], d_p))
            else:  # first step: the buffer starts as the step
                state['momentum_buffer'] = torch.clone(d_p).detach()
        if old:
            bufs, new_steps = map(list, zip(*old))
            torch._foreach_mul_(bufs, momentum)
            torch._foreach_add_(bufs, new_steps, alpha=1 - group['dampening'])
        new = [self.state[p]['momentum_buffer'] for p in params]
        if group['nesterov']:
            return torch._foreach_add(steps, new, alpha=momentum)
        return new
