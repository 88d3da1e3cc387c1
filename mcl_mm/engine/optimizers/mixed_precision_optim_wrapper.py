# Copyright (c) mcl_mm contributors. All rights reserved.
from typing import Dict, List, Union

import torch
from mmengine.optim import AmpOptimWrapper, OptimWrapper

from mmpretrain.registry import OPTIM_WRAPPERS


class CappedGradScaler(torch.amp.GradScaler):
    """``torch.amp.GradScaler`` whose dynamic scale never grows past
    ``max_scale`` (apex's ``max_loss_scale``), kept on the device.

    Args:
        device (str): ``cuda`` or ``cpu``.
        max_scale (float): The cap, also the initial scale.
    """

    def __init__(self, device: str, max_scale: float) -> None:
        super().__init__(device, init_scale=max_scale)
        self.max_scale = max_scale

    def update(self, new_scale=None) -> None:
        super().update(new_scale)
        if self._enabled and new_scale is None:
            self._scale.clamp_(max=self.max_scale)


def bf16_supported(device: str) -> bool:
    """Whether ``device`` runs bfloat16 autocast natively: a CUDA GPU of
    compute capability 8.0 or later (Ampere, Hopper, ...) or the CPU."""
    if device == 'cuda':
        return torch.cuda.get_device_capability()[0] >= 8
    return True


# per-step figures kept on the device when nothing reads them
MAX_PENDING = 10000


@OPTIM_WRAPPERS.register_module()
class MixedPrecisionOptimWrapper(AmpOptimWrapper):
    """mmengine's ``AmpOptimWrapper`` in the precision the device runs best,
    with every skipped step counted and no per-step read to the host beyond
    the scaler's own.

    - ``dtype='auto'``: bfloat16 where the device has it
      (:func:`bf16_supported`): fp32's exponent range, so no loss scale (a
      static scale of 1); a step whose gradients are not finite is still
      skipped.
      Elsewhere float16 with a dynamic loss scale that starts at and never
      grows past ``max_loss_scale`` (the MCL authors' apex O1 setting,
      2^14).
    - Each step's skip flag (the scaler's found-inf) and clipped gradient
      norm stay on the device; :meth:`pop_step_stats` reads those of the
      steps since its last call in one transfer. :class:`SkippedStepsHook`
      calls it on the iterations that log: ``grad_norm`` is logged as
      mmengine logs it (one value per step), without the ``float()`` that
      mmengine's ``_clip_grad`` makes in every step. Without a reader, the
      figures of the last ``MAX_PENDING`` steps are kept.
    - It also runs on the CPU (bfloat16 autocast), where ``AmpOptimWrapper``
      refuses to be built.

    Args:
        dtype (str): ``'auto'``, ``'bfloat16'`` or ``'float16'``.
            Defaults to 'auto'.
        max_loss_scale (float): Initial and largest loss scale with
            float16. Defaults to 2.0 ** 14.
        **kwargs: ``OptimWrapper``'s arguments (``optimizer``,
            ``clip_grad``, ``accumulative_counts``).
    """

    def __init__(self,
                 dtype: Union[str, torch.dtype] = 'auto',
                 max_loss_scale: float = 2.0**14,
                 **kwargs) -> None:
        # AmpOptimWrapper.__init__ only builds the scaler and refuses CPUs
        OptimWrapper.__init__(self, **kwargs)
        device = 'cuda' if torch.cuda.is_available() else 'cpu'
        if dtype == 'auto':
            dtype = 'bfloat16' if bf16_supported(device) else 'float16'
        if isinstance(dtype, str):
            if dtype not in ('bfloat16', 'float16'):
                raise ValueError('MixedPrecisionOptimWrapper: dtype must be '
                                 "'auto', 'bfloat16' or 'float16', got "
                                 f'{dtype!r}')
            dtype = getattr(torch, dtype)
        self.cast_dtype = dtype
        if dtype == torch.bfloat16:
            self._scale_update_param = 1.0
            self.loss_scaler = torch.amp.GradScaler(device, init_scale=1.0)
        else:
            self._scale_update_param = None
            self.loss_scaler = CappedGradScaler(device, max_loss_scale)
        self._found_inf: List[torch.Tensor] = []
        self._grad_norms: List[torch.Tensor] = []

    def _clip_grad(self) -> None:
        """Clip as mmengine does; the norm stays on the device."""
        params = [
            p for group in self.optimizer.param_groups for p in group['params']
            if p.requires_grad and p.grad is not None
        ]
        if params:
            norm = self.clip_func(params, **self.clip_grad_kwargs)
            if norm is not None:  # clip_grad_value_ returns None
                self._grad_norms.append(norm.detach().float())
                del self._grad_norms[:-MAX_PENDING]

    def step(self, **kwargs) -> None:
        """Unscale, clip, step unless a gradient is not finite, update the
        scale, and keep the step's skip flag on the device.

        Args:
            kwargs: Keyword arguments of ``torch.optim.Optimizer.step``.
        """
        if self.clip_grad_kwargs:
            self.loss_scaler.unscale_(self.optimizer)
            self._clip_grad()
        self.loss_scaler.step(self.optimizer, **kwargs)
        found = self.loss_scaler._found_inf_per_device(self.optimizer)
        self._found_inf.append(sum(found.values()).float())
        del self._found_inf[:-MAX_PENDING]
        self.loss_scaler.update(self._scale_update_param)

    def pop_step_stats(self) -> Dict[str, List[float]]:
        """The steps since the last call: ``skipped`` (1.0 for a step the
        scaler skipped, else 0.0) and ``grad_norm`` (one per clipped step),
        read to the host in one transfer, and forgotten here.

        Returns:
            Dict[str, List[float]]: ``skipped`` and ``grad_norm``.
        """
        found, norms = self._found_inf, self._grad_norms
        self._found_inf, self._grad_norms = [], []
        if not found and not norms:
            return dict(skipped=[], grad_norm=[])
        values = torch.stack([t.reshape(()) for t in found + norms]).tolist()
        return dict(skipped=values[:len(found)], grad_norm=values[len(found):])
