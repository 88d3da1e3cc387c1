# Copyright (c) mcl_mm contributors. All rights reserved.
"""Side-by-side cost of MCL and BYOL training steps, in one process.

Both models are built from their configs, each at the settings its
config ships (its optimizer wrapper, mixed precision included, and its
memory format; :func:`build`), and fed synthetic batches of the same batch
size and resolution; full training steps (data preprocessor, forward,
backward, optimizer step) that do not log are timed interleaved A B A B
after a warm-up, and one step that logs (collapse metrics included) is
counted apart. :func:`measure_models` returns per model the median step time,
images/s, peak memory and FLOPs per image, the MCL/BYOL ratios, the FLOPs
of the same MCL config in the authors' forward (``forward_mode='authors'``:
tile head on every pyramid output of every montage, target network on every
level) and the share of the MCL step
spent tiling montages. ``tools/analysis_tools/benchmark.py`` is its command
line.
"""
import contextlib
import copy
import importlib
import logging
import os
import statistics
import threading
import time
from typing import Callable, Dict, Iterator, List, Optional, Sequence

import torch
from mmengine.config import Config
from mmengine.logging import MessageHub, MMLogger
from mmengine.model import revert_sync_batchnorm
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from torch.utils.flop_counter import FlopCounterMode

from mcl_mm.engine import MontageRunner
from mcl_mm.models.utils import is_channels_last, to_channels_last
from mcl_mm.montage import split_views
from mmpretrain.registry import MODELS
from .mini_transfer_arms import arm_config
from .op_count import op_counts

# load_config's prefix of a mini transfer arm, e.g. ``arm:byol``
ARM_PREFIX = 'arm:'


def load_config(path: str, options: Optional[dict] = None) -> Config:
    """``Config.fromfile`` that also takes ``package::path`` names and the
    mini transfer's arms (``arm:NAME``: :func:`arm_config`), with
    ``options`` merged and :meth:`MontageRunner.prepare_config` applied
    (the montage geometry, the photometric steps and, on a GPU, the crops
    moved to the device), as the runner does."""
    if path.startswith(ARM_PREFIX):
        cfg = arm_config(path[len(ARM_PREFIX):])
    else:
        if '::' in path:
            package, rel = path.split('::', 1)
            root = os.path.dirname(importlib.import_module(package).__file__)
            path = os.path.join(root, '.mim', 'configs', rel)
        cfg = Config.fromfile(path)
    if options:
        cfg.merge_from_dict(options)
    return MontageRunner.prepare_config(cfg)


def montage_options(levels: int, resolution: int) -> dict:
    """Config options for S levels of scales 2^i, one tile per image."""
    return {
        'model.montage.scales': tuple(2**i for i in range(levels)),
        'model.montage.resolution': resolution,
        'model.montage.tiles_per_image': None,
    }


# optimizer wrappers that need a GPU, and their arguments OptimWrapper lacks
GPU_ONLY_WRAPPERS = ('AmpOptimWrapper', )
AMP_ARGUMENTS = ('loss_scale', 'dtype', 'max_loss_scale', 'use_fsdp')


def precision_config(optim_cfg: dict, precision: str, device: str) -> dict:
    """An optimizer wrapper config in ``precision`` (see :func:`build`)."""
    optim_cfg = copy.deepcopy(optim_cfg)
    if precision == 'amp' and optim_cfg.get('type',
                                            'OptimWrapper') == 'OptimWrapper':
        optim_cfg['type'] = 'AmpOptimWrapper'
        optim_cfg.setdefault('loss_scale', 'dynamic')
    if precision == 'fp32' or (device == 'cpu' and optim_cfg.get(
            'type', 'OptimWrapper') in GPU_ONLY_WRAPPERS):
        optim_cfg['type'] = 'OptimWrapper'
        for key in AMP_ARGUMENTS:
            optim_cfg.pop(key, None)
    return optim_cfg


@contextlib.contextmanager
def quiet_building(level: int = logging.ERROR) -> Iterator[None]:
    """Raise mmengine's logger to ``level`` while a model and its optimizer
    are built: ``init_weights`` reports every parameter at INFO when no log
    file is open, and the optimizer constructor logs every parameter's
    ``paramwise_options`` (INFO) and every frozen target parameter
    (WARNING), about 1800 lines for the R50-FPN config before a figure.

    Args:
        level (int): The least level still logged.
    """
    logger = MMLogger.get_current_instance()
    before = logger.level
    logger.setLevel(max(before, level))
    try:
        yield
    finally:
        logger.setLevel(before)


def build(cfg: Config,
          device: str,
          precision: str = 'config',
          channels_last: Optional[bool] = None,
          compile: bool = False) -> tuple:
    """Model and optimizer wrapper of a config, on ``device``, at the
    settings the config ships: its optimizer wrapper (mixed precision
    included) and its model's memory format (``model.channels_last``).

    Args:
        cfg (Config): The config.
        device (str): ``cpu`` or ``cuda``.
        precision (str): ``'config'``: the config's wrapper; ``'amp'``:
            as ``tools/train.py --amp`` trains it (mmpretrain's rule: a
            plain ``OptimWrapper`` becomes ``AmpOptimWrapper`` with a
            dynamic loss scale; a config that sets its own mixed precision
            keeps it); ``'fp32'``: ``OptimWrapper`` for any config.
            mmengine's ``AmpOptimWrapper`` needs a GPU: on the CPU it runs
            in float32.
        channels_last (bool, optional): None keeps the config's memory
            format; True or False sets it (a model without the switch, such
            as mmpretrain's BYOL, through :func:`to_channels_last`).
        compile (bool): ``torch.compile`` the training step, as mmengine's
            ``compile=True`` does.

    Returns:
        tuple: The model, its optimizer wrapper and its ``settings`` (a
        dict: ``optim_wrapper``, ``dtype``, ``channels_last``,
        ``compile``).
    """
    cfg = copy.deepcopy(cfg)
    cfg.model.setdefault('data_preprocessor', cfg.get('data_preprocessor'))
    if channels_last is not None and 'channels_last' in cfg.model:
        cfg.model.channels_last = channels_last
    with quiet_building():
        model = revert_sync_batchnorm(MODELS.build(cfg.model))
        model.init_weights()
        if channels_last and not is_channels_last(model):
            to_channels_last(model)
        model.to(device)
        optim_wrapper = build_optim_wrapper(
            model, precision_config(cfg.optim_wrapper, precision, device))
    if compile:
        model.train_step = torch.compile(model.train_step)
    dtype = getattr(optim_wrapper, 'cast_dtype', None)
    settings = dict(
        optim_wrapper=type(optim_wrapper).__name__,
        dtype=str(dtype or torch.float32).replace('torch.', ''),
        channels_last=is_channels_last(model),
        compile=compile)
    return model, optim_wrapper, settings


def make_batch(model: torch.nn.Module, batch_size: int,
               resolution: int) -> dict:
    """Synthetic uint8 views as the pipeline would deliver them: for MCL
    each level's copy at its tile size, for BYOL two full views."""
    if hasattr(model, 'tiler'):
        sizes = [
            model.tiler.tile_size(i) for i in range(model.tiler.num_levels)
        ] * 2
    else:
        sizes = [resolution, resolution]
    inputs = [
        torch.randint(0, 256, (batch_size, 3, s, s), dtype=torch.uint8)
        for s in sizes
    ]
    return dict(inputs=inputs, data_samples=None)


def sync(device: str) -> None:
    """Wait for the device (CUDA) to finish."""
    if device.startswith('cuda'):
        torch.cuda.synchronize()


class PeakMemory:
    """Peak memory of what runs inside: CUDA max allocated, or on the CPU
    the peak resident set size above the level at entry: the kernel's
    high-water mark (VmHWM, reset on entry through ``/proc/self/clear_refs``)
    where it can be reset, else sampled every 2 ms."""

    def __init__(self, device: str) -> None:
        self.device = device
        self.peak = 0

    @staticmethod
    def _status(field: str) -> int:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith(field + ':'):
                    return int(line.split()[1]) * 1024
        raise KeyError(field)

    @staticmethod
    def _reset_high_water_mark() -> bool:
        try:
            with open('/proc/self/clear_refs', 'w') as f:
                f.write('5')
            return True
        except OSError:
            return False

    def __enter__(self):
        if self.device.startswith('cuda'):
            torch.cuda.reset_peak_memory_stats()
            return self
        self._exact = self._reset_high_water_mark()
        self.base, self._stop = self._status('VmRSS'), False
        if not self._exact:
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop:
            self.peak = max(self.peak, self._status('VmRSS') - self.base)
            time.sleep(0.002)

    def __exit__(self, *exc) -> None:
        if self.device.startswith('cuda'):
            self.peak = torch.cuda.max_memory_allocated()
        elif self._exact:
            self.peak = max(0, self._status('VmHWM') - self.base)
        else:
            self._stop = True
            self._thread.join()


def count_flops(fn: Callable[[], None]) -> int:
    """FLOPs of one call of ``fn`` (torch's ``FlopCounterMode``)."""
    counter = FlopCounterMode(display=False)
    with counter:
        fn()
    return counter.get_total_flops()


def authors_config(cfg: Config) -> Config:
    """The MCL config in the authors' forward (``forward_mode='authors'``)."""
    cfg = copy.deepcopy(cfg)
    cfg.model.forward_mode = 'authors'
    return cfg


def flops_per_image(model: torch.nn.Module,
                    optim_wrapper,
                    batch: dict,
                    train: bool = True) -> Dict[str, float]:
    """GFLOPs per image of one training step (preprocessor, forward,
    backward, optimiser; left out when not ``train``) and of the loss
    forward alone, by torch's ``FlopCounterMode``."""
    size = len(batch['inputs'][0])
    result = {}
    if train:
        result['train_gflops_per_image'] = count_flops(
            lambda: model.train_step(batch, optim_wrapper)) / 1e9 / size
    with torch.no_grad():
        result['forward_gflops_per_image'] = count_flops(
            lambda: ours_forward(model, batch)) / 1e9 / size
    return result


def measure_flops(configs: Dict[str, Config],
                  batch_size: int,
                  resolution: int,
                  device: str,
                  train: bool = True) -> Dict[str, dict]:
    """The FLOPs of :func:`measure_models` alone, without timing: per
    model (and ``MCL_authors``) the training and forward GFLOPs per image,
    and their ratios.

    Args:
        configs (Dict[str, Config]): ``MCL`` and ``BYOL`` configs.
        batch_size (int): Images per step.
        resolution (int): Side of BYOL's views.
        device (str): ``cpu`` or ``cuda``.
        train (bool): Also count the training step (its backward keeps the
            activations: at 224 px and batch 64 more memory than a small
            machine has); False counts the loss forwards alone.

    Returns:
        Dict[str, dict]: Figures per model and ``ratios``.
    """
    init_default_scope('mmpretrain')
    MessageHub.get_current_instance().update_info('max_iters', 10**6)
    configs = dict(configs, MCL_authors=authors_config(configs['MCL']))
    results = {}
    for name, cfg in configs.items():
        model, optim_wrapper, _ = build(cfg, device, 'fp32', False)
        results[name] = flops_per_image(
            model, optim_wrapper, make_batch(model, batch_size, resolution),
            train)
    results['ratios'] = dict(
        forward_flops_mcl_over_byol=results['MCL']['forward_gflops_per_image']
        / results['BYOL']['forward_gflops_per_image'],
        **flops_ratios(results))
    return results


def flops_ratios(results: Dict[str, dict]) -> Dict[str, float]:
    """MCL / BYOL training FLOPs and ours / the authors' forward and
    training FLOPs (the training ones when counted)."""
    mcl, byol = results['MCL'], results['BYOL']
    authors = results['MCL_authors']
    out = {}
    if 'train_gflops_per_image' in mcl:
        out['train_flops_mcl_over_byol'] = (
            mcl['train_gflops_per_image'] / byol['train_gflops_per_image'])
    out['forward_flops_ours_over_authors'] = (
        mcl['forward_gflops_per_image'] / authors['forward_gflops_per_image'])
    if 'train_gflops_per_image' in mcl:
        out['train_flops_ours_over_authors'] = (
            mcl['train_gflops_per_image'] / authors['train_gflops_per_image'])
    return out


def step_op_counts(step: Callable[[], None],
                   prefix: str = 'train') -> Dict[str, int]:
    """``{prefix}_aten_ops``, ``_view_ops``, ``_sync_ops`` and
    ``_decomposition_ops`` of one training step (:func:`op_counts`): each
    op not a view is at least one kernel launch on a GPU, each sync op a
    wait for the device; a decomposition an SVD or eigensolver."""
    counts = op_counts(step)
    return {
        f'{prefix}_aten_ops': counts['ops'],
        f'{prefix}_view_ops': counts['views'],
        f'{prefix}_sync_ops': counts['syncs'],
        f'{prefix}_decomposition_ops': counts['decompositions']
    }


def logging_step(model: torch.nn.Module,
                 step: Callable[[], None]) -> Callable[[], None]:
    """``step`` as an iteration that logs runs it: with the model's
    collapse metrics (``watch_collapse``, set by
    :class:`CollapseMetricsHook`), where it has them."""

    def run():
        watch = hasattr(model, 'watch_collapse')
        if watch:
            model.watch_collapse = True
        try:
            step()
        finally:
            if watch:
                model.watch_collapse = False

    return run


def ours_forward(model: torch.nn.Module, batch: dict) -> None:
    """MCL's (or BYOL's) own loss forward."""
    model(**model.data_preprocessor(batch, True), mode='loss')


def median_time(fn: Callable[[], None], device: str, n: int) -> float:
    """Median seconds of ``n`` calls of ``fn``."""
    times = []
    for _ in range(n):
        sync(device)
        start = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def ratios(results: Dict[str, dict]) -> Dict[str, float]:
    """The MCL / BYOL ratios of :func:`measure_models`' figures."""
    mcl, byol = results['MCL'], results['BYOL']
    return dict(
        step_time_mcl_over_byol=mcl['step_time_s'] / byol['step_time_s'],
        peak_memory_mcl_over_byol=mcl['peak_memory_mb'] /
        max(byol['peak_memory_mb'], 1e-9),
        **flops_ratios(results),
        tiling_share_of_mcl_step=mcl['tiling_time_s'] / mcl['step_time_s'],
        device_augment_share_of_mcl_step=mcl.get('device_augment_time_s', 0.) /
        mcl['step_time_s'])


def measure_models(configs: Dict[str, Config],
                   batch_size: int,
                   resolution: int,
                   iters: int,
                   warmup: int,
                   device: str,
                   precision: str = 'config',
                   channels_last: Optional[Dict[str, bool]] = None,
                   compile: Sequence[str] = (),
                   profile: bool = False) -> Dict[str, dict]:
    """Time, memory and FLOPs of MCL and BYOL training steps side by side,
    each at its config's settings (:func:`build`).

    Args:
        configs (Dict[str, Config]): ``MCL`` and ``BYOL`` configs (see
            :func:`load_config`).
        batch_size (int): Images per step.
        resolution (int): Side of BYOL's views (MCL's follow its montage).
        iters (int): Timed steps per model.
        warmup (int): Untimed steps per model first.
        device (str): ``cpu`` or ``cuda``.
        precision (str): ``'config'`` or ``'fp32'`` (see :func:`build`).
        channels_last (Dict[str, bool], optional): Per model name, a memory
            format that overrides the config's.
        compile (Sequence[str]): The models whose training step is
            compiled (``torch.compile``, as mmengine's ``compile=True``).
        profile (bool): Also return the top ops of one step per model.

    Returns:
        Dict[str, dict]: Figures per model (with its ``settings``),
        ``MCL_authors`` (FLOPs of the MCL config with
        ``forward_mode='authors'``) and ``ratios``.
    """
    init_default_scope('mmpretrain')
    MessageHub.get_current_instance().update_info('max_iters', 10**6)
    channels_last = channels_last or {}
    built = {
        name:
        build(cfg, device, precision, channels_last.get(name), name in compile)
        for name, cfg in configs.items()
    }
    models = {name: (m, w) for name, (m, w, _) in built.items()}
    batches = {
        k: make_batch(m, batch_size, resolution)
        for k, (m, _) in models.items()
    }

    def step_of(name):
        model, optim_wrapper = models[name]
        # a wrapper keeping per-step figures for the log gives them up
        # after each step, as the logging hook does at its interval
        pop = getattr(optim_wrapper, 'pop_step_stats', lambda: None)

        def step():
            model.train_step(batches[name], optim_wrapper)
            pop()

        return step

    steps = {name: step_of(name) for name in models}
    times: Dict[str, List[float]] = {k: [] for k in models}
    peaks = {k: 0 for k in models}
    for it in range(warmup + iters):
        for name, step in steps.items():  # interleaved A B A B
            sync(device)
            with PeakMemory(device) as mem:
                start = time.perf_counter()
                step()
                sync(device)
                elapsed = time.perf_counter() - start
            if it >= warmup:
                times[name].append(elapsed)
                peaks[name] = max(peaks[name], mem.peak)
    results = {}
    for name, (model, optim_wrapper) in models.items():
        median = statistics.median(times[name])
        results[name] = dict(
            step_time_s=median,
            images_per_s=batch_size / median,
            peak_memory_mb=peaks[name] / 2**20,
            **flops_per_image(model, optim_wrapper, batches[name]),
            **step_op_counts(steps[name]),
            **step_op_counts(logging_step(model, steps[name]), 'logging'),
            logging_step_time_s=median_time(
                logging_step(model, steps[name]), device, 3),
            settings=built[name][2])
    mcl = models['MCL'][0]
    results['MCL_authors'] = flops_per_image(
        *build(authors_config(configs['MCL']), device, 'fp32', False)[:2],
        batches['MCL'])
    with torch.no_grad():
        inputs = mcl.data_preprocessor(batches['MCL'], True)['inputs']
        views = split_views(inputs, mcl.tiler.num_levels, 2)
        tiling = median_time(lambda: [mcl.tiler(v) for v in views], device,
                             max(iters, 3))
        # the loader's uint8 views, as the preprocessor receives them
        raw = [x.to(device) for x in batches['MCL']['inputs']]
        pre = mcl.data_preprocessor
        augment = getattr(pre, 'augment', None)
        device_augment = median_time(
            lambda: augment(raw, pre._channel_conversion), device, max(
                iters, 3)) if augment else 0.
    results['MCL']['tiling_time_s'] = tiling
    results['MCL']['device_augment_time_s'] = device_augment
    if profile:
        results['profile_tables'] = profile_models(steps)
    results['ratios'] = ratios(results)
    return results


def profile_models(steps: Dict[str, Callable[[], None]],
                   rows: int = 12) -> Dict[str, str]:
    """The top ops (self time) of one training step of each model."""
    from torch.profiler import ProfilerActivity, profile
    activities = [ProfilerActivity.CPU]
    if torch.cuda.is_available():
        activities.append(ProfilerActivity.CUDA)
    tables = {}
    for name, step in steps.items():
        with profile(activities=activities) as prof:
            step()
        key = ('self_cuda_time_total'
               if len(activities) > 1 else 'self_cpu_time_total')
        tables[name] = prof.key_averages().table(sort_by=key, row_limit=rows)
    return tables
