# Copyright (c) mcl_mm contributors. All rights reserved.
"""How long real training steps wait for their data, MCL and BYOL side by
side.

:func:`measure_data_wait` trains each config for a few iterations on a
folder of images with its own data pipeline, data loader workers and
optimiser (what ``tools/train.py`` runs), and reads mmengine's per-iteration
``train/data_time`` (the wait for the next batch) and ``train/time`` (the
whole iteration) from the message hub. ``tools/analysis_tools/benchmark.py
--mode loader`` is its command line.
"""
import copy
import statistics
import tempfile
from typing import Dict, List, Optional

import torch
from mmengine.config import Config
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from .step_cost import precision_config

# hooks that read files a short timing run does not have, or write some
TIMING_HOOKS_DROPPED = ('DenseProbeHook', 'CheckpointHook')


def loader_config(cfg: Config,
                  data_dir: str,
                  iters: int,
                  workers: int,
                  batch_size: Optional[int] = None,
                  precision: str = 'config') -> Config:
    """``cfg`` turned into a short timing run: its training pipeline over
    the images of ``data_dir`` (:class:`ImageFolder`), ``iters`` iterations,
    ``workers`` data loader workers, no probe or checkpoint. The config's
    schedules stay (an epoch is one pass over ``data_dir``): the timed
    iterations train with the warm-up a real run starts with, not at the
    peak learning rate.

    Args:
        cfg (Config): A pre-training config (MCL's or mmpretrain's BYOL).
        data_dir (str): A folder of images, searched recursively.
        iters (int): Training iterations.
        workers (int): Data loader worker processes.
        batch_size (int, optional): Images per step; None keeps the
            config's.
        precision (str): ``'config'``, ``'amp'`` or ``'fp32'``
            (:func:`precision_config`).
    """
    cfg = copy.deepcopy(cfg)
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    cfg.optim_wrapper = precision_config(cfg.optim_wrapper, precision, device)
    loader = cfg.train_dataloader
    loader.dataset = dict(
        type='ImageFolder',
        data_root=data_dir,
        with_label=False,
        pipeline=loader.dataset.pipeline)
    loader.sampler = dict(type='InfiniteSampler', shuffle=True)
    loader.num_workers = workers
    loader.persistent_workers = workers > 0
    if batch_size:
        loader.batch_size = batch_size
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters)
    cfg.default_hooks.checkpoint = None
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=iters)
    cfg.custom_hooks = [
        h for h in cfg.get('custom_hooks', [])
        if h['type'] not in TIMING_HOOKS_DROPPED
    ]
    cfg.visualizer = dict(
        type='Visualizer', vis_backends=[dict(type='LocalVisBackend')])
    cfg.work_dir = tempfile.mkdtemp(prefix='mcl_data_wait_')
    cfg.launcher = 'none'
    return cfg


def iteration_times(cfg: Config) -> Dict[str, List[float]]:
    """Train ``cfg`` (built as ``tools/train.py`` does: ``runner_type``
    when set) and return its per-iteration ``data_time`` and ``time``, and
    the optimizer steps mixed precision skipped (``skipped_steps``, one
    entry per log line of :class:`SkippedStepsHook`; empty without it)."""
    runner = (
        RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg))
    runner.train()
    hub = runner.message_hub
    times = {
        key: [float(v) for v in hub.get_scalar(f'train/{key}').data[0]]
        for key in ('data_time', 'time')
    }
    skipped = hub.log_scalars.get('train/skipped_steps')
    times['skipped_steps'] = [] if skipped is None else [
        float(v) for v in skipped.data[0]
    ]
    return times


def summarise_wait(times: Dict[str, List[float]], skip: int,
                   batch_size: int) -> Dict[str, float]:
    """Figures of the iterations after the first ``skip`` (worker start,
    cuDNN autotuning, allocator growth).

    Returns:
        Dict[str, float]: Median ``time_s`` and ``data_time_s`` per
        iteration, ``data_wait_share`` (summed data time over summed
        iteration time), ``images_per_s`` (batch over the median time) and
        ``skipped_steps`` (the whole run's, None where not counted).
    """
    data, total = times['data_time'][skip:], times['time'][skip:]
    if not total:
        raise ValueError(f'{len(times["time"])} iterations timed, all '
                         f'within the {skip} skipped: train longer')
    median = statistics.median(total)
    return dict(
        time_s=median,
        data_time_s=statistics.median(data),
        data_wait_share=sum(data) / sum(total),
        images_per_s=batch_size / median,
        iterations=len(total),
        skipped_steps=int(sum(times['skipped_steps']))
        if times.get('skipped_steps') else None)


def measure_data_wait(configs: Dict[str, Config],
                      data_dir: str,
                      iters: int,
                      workers: int,
                      skip: int,
                      batch_size: Optional[int] = None,
                      precision: str = 'config') -> Dict[str, dict]:
    """Data wait of real training runs, one config after the other.

    Args:
        configs (Dict[str, Config]): ``MCL`` and ``BYOL`` configs.
        data_dir (str): Folder of training images.
        iters (int): Iterations per run.
        workers (int): Data loader workers per run.
        skip (int): Leading iterations left out of the figures.
        batch_size (int, optional): Images per step for both; None keeps
            each config's.
        precision (str): See :func:`precision_config`.

    Returns:
        Dict[str, dict]: :func:`summarise_wait` per config, the ratio of
        MCL's images/s to BYOL's (``ratios``) and the worker count.
    """
    results = {}
    for name, cfg in configs.items():
        run_cfg = loader_config(cfg, data_dir, iters, workers, batch_size,
                                precision)
        times = iteration_times(run_cfg)
        results[name] = summarise_wait(times, skip,
                                       run_cfg.train_dataloader.batch_size)
    results['ratios'] = dict(
        train_images_per_s_mcl_over_byol=results['MCL']['images_per_s'] /
        results['BYOL']['images_per_s'])
    results['workers'] = workers
    return results
