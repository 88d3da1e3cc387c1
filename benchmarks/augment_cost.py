# Copyright (c) mcl_mm contributors. All rights reserved.
"""What one call of the device augments costs, measured on any device.

:func:`measure_augment` builds a config's ``MontageDataPreprocessor`` (after
:class:`MontageRunner` moved the photometric steps into it), feeds it the
2 x S view batches of one training step as the data loader delivers them
(uint8, each level's copy at its tile size, in the preprocessor's channel
order) and reports

- ``aten_ops_per_call``: the aten ops one ``augment`` call dispatches
  (counted with a ``TorchDispatchMode``), which does not depend on the
  batch size; ``view_ops_per_call`` of them return a view of an input
  (``view``, ``slice``, ``split``: no kernel on a GPU), every other one
  launches at least one kernel there;
- ``augment_ms`` and ``elementwise_pass_ms``: the median time of one call
  (conversion to float included) and of one elementwise pass
  ``v * 1.0001`` over the same views in float, timed in alternation, and
  ``elementwise_passes``, the median ratio of a call to the pass next to
  it: the call's cost in passes over its data, a proxy for memory traffic
  that compares across devices.

On the CPU, large freed blocks are kept in the process heap
(:func:`retain_cpu_heap`), as a GPU's caching allocator keeps device memory:
otherwise every large tensor is a fresh memory mapping whose page faults
cost more than the pass over it, and the timings follow the allocator's
state (the same elementwise pass varied more than twofold between runs).

``tools/analysis_tools/benchmark.py --mode augment`` is its command line.
"""
import ctypes
import statistics
from typing import Dict, List

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmpretrain.registry import MODELS
from .op_count import count_aten_ops
from .step_cost import median_time


def retain_cpu_heap() -> bool:
    """Keep freed memory of this process in its heap (glibc's
    ``mallopt``: no memory mapping per large block, no trimming), so that
    a CPU timing measures the work and not the page faults of fresh
    mappings. Returns whether the C library took the settings."""
    try:
        libc = ctypes.CDLL('libc.so.6')
    except OSError:
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(
        libc.mallopt(m_mmap_threshold, 1 << 30)
        and libc.mallopt(m_trim_threshold, 1 << 30))


def step_views(tile_sizes: List[int], batch_size: int,
               device: str) -> List[torch.Tensor]:
    """One step's 2 x S view batches as the data loader delivers them:
    uint8, level ``i`` at ``tile_sizes[i]`` pixels, view A's levels then
    view B's."""
    return [
        torch.randint(
            0, 256, (batch_size, 3, s, s), dtype=torch.uint8, device=device)
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
        repeats (int): Timed calls of each, alternating (one untimed call
            of each comes first); the medians are reported, and as
            ``elementwise_passes`` the median of the per-pair ratios.

    Returns:
        Dict[str, float]: ``aten_ops_per_call``, ``view_ops_per_call``,
        ``augment_ms``,
        ``elementwise_pass_ms``, ``elementwise_passes``,
        ``cpu_heap_retained`` and the views' ``megapixels``.
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
    retained = device == 'cpu' and retain_cpu_heap()
    views = step_views(sizes, batch_size, device)
    floats = [v.float() for v in views]

    def augment():
        return pre.augment(views, pre._channel_conversion)

    def one_pass():
        return [v * 1.0001 for v in floats]

    with torch.no_grad():
        augment(), one_pass()  # a first call builds what later ones reuse
        ops, view_ops = count_aten_ops(augment, views=True)
        # each call timed next to a pass, so a machine busy with other
        # work slows both alike; the ratio is the median of the pairs'
        augment_s, pass_s = [], []
        for _ in range(repeats):
            augment_s.append(median_time(augment, device, 1))
            pass_s.append(median_time(one_pass, device, 1))
    augment_ms = 1e3 * statistics.median(augment_s)
    pass_ms = 1e3 * statistics.median(pass_s)
    passes = statistics.median(a / p for a, p in zip(augment_s, pass_s))
    return dict(
        aten_ops_per_call=ops,
        view_ops_per_call=view_ops,
        augment_ms=augment_ms,
        elementwise_pass_ms=pass_ms,
        elementwise_passes=passes,
        cpu_heap_retained=retained,
        megapixels=sum(v[:, 0].numel() for v in views) / 1e6)
