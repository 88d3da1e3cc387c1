# Copyright (c) mcl_mm contributors. All rights reserved.
"""What one call of the device augments costs, measured on any device.

:func:`measure_augment` builds a config's ``MontageDataPreprocessor`` (after
:class:`MontageRunner` moved the photometric steps into it), feeds it the
2 x S view batches of one training step (RGB floats, each level's copy at
its tile size) and reports

- ``aten_ops_per_call``: the aten ops one ``augment`` call dispatches
  (counted with a ``TorchDispatchMode``; each is at least one kernel launch
  on a GPU), which does not depend on the batch size;
- ``augment_ms`` and ``elementwise_pass_ms``: the median time of one call
  and of one elementwise pass ``v * 1.0001`` over the same views, and their
  ratio ``elementwise_passes``: the call's cost in passes over its data, a
  proxy for memory traffic that compares across devices.

``tools/analysis_tools/benchmark.py --mode augment`` is its command line.
"""
from typing import Callable, Dict, List

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from torch.utils._python_dispatch import TorchDispatchMode

from mmpretrain.registry import MODELS
from .step_cost import median_time


class _OpCounter(TorchDispatchMode):
    """Counts the aten ops dispatched inside."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.count += 1
        return func(*args, **(kwargs or {}))


def count_aten_ops(fn: Callable[[], object]) -> int:
    """The aten ops one call of ``fn`` dispatches."""
    with _OpCounter() as counter:
        fn()
    return counter.count


def step_views(tile_sizes: List[int], batch_size: int,
               device: str) -> List[torch.Tensor]:
    """One step's 2 x S view batches as the preprocessor augments them: RGB
    floats in [0, 255], level ``i`` at ``tile_sizes[i]`` pixels, view A's
    levels then view B's."""
    return [
        torch.randint(0, 256, (batch_size, 3, s, s), device=device).float()
        for s in list(tile_sizes) * 2
    ]


def measure_augment(cfg: Config,
                    batch_size: int,
                    device: str,
                    repeats: int = 3) -> Dict[str, float]:
    """The cost of one ``augment`` call of ``cfg``'s preprocessor.

    Args:
        cfg (Config): An MCL config after :func:`load_config` (montage
            geometry applied, photometric steps on the device).
        batch_size (int): Images per view batch.
        device (str): ``cpu`` or ``cuda``.
        repeats (int): Timed calls of each; the median is reported (one
            untimed call of each comes first).

    Returns:
        Dict[str, float]: ``aten_ops_per_call``, ``augment_ms``,
        ``elementwise_pass_ms``, ``elementwise_passes``, and the views'
        ``megapixels``.
    """
    init_default_scope('mmpretrain')
    pre_cfg = cfg.model.get('data_preprocessor') or cfg.data_preprocessor
    if not pre_cfg.get('augments'):
        raise ValueError(
            'measure_augment: the config moves no photometric step to the '
            'device (model.data_preprocessor.augment_on_device=False?)')
    pre = MODELS.build(pre_cfg).to(device)
    montage = cfg.model.montage
    sizes = [montage.resolution // r for r in montage.scales]
    views = step_views(sizes, batch_size, device)

    def augment():
        return pre.augment(views)

    def one_pass():
        return [v * 1.0001 for v in views]

    with torch.no_grad():
        ops = count_aten_ops(augment)
        augment(), one_pass()
        augment_ms = 1e3 * median_time(augment, device, repeats)
        pass_ms = 1e3 * median_time(one_pass, device, repeats)
    return dict(
        aten_ops_per_call=ops,
        augment_ms=augment_ms,
        elementwise_pass_ms=pass_ms,
        elementwise_passes=augment_ms / pass_ms,
        megapixels=sum(v[:, 0].numel() for v in views) / 1e6)
