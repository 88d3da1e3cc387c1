# Copyright (c) mcl_mm contributors. All rights reserved.
"""Side-by-side cost of MCL and BYOL training steps, in one process.

Builds both models from their configs, feeds them synthetic batches of the
same batch size and resolution, and times full training steps (data
preprocessor, forward, backward, optimizer step) interleaved A B A B after a
warm-up. Prints per model the median step time, images/s, peak memory and
FLOPs per image, then the MCL/BYOL ratios, and the forward FLOPs of the MCL
authors' formulation (tile head on every pyramid level of every montage,
target network on every level) for the same config, and the share of the MCL
step spent tiling montages.

``--mode data`` measures the two training pipelines alone instead: images/s
of one worker (one process) on real JPEG files, rounds interleaved.

``--profile`` adds where the time goes: the top ops of one training step of
each model (torch.profiler, self time) or, in data mode, the milliseconds
per image spent in each transform class (cProfile, cumulative: wrappers
such as MontageAssembly or RandomApply include what they call).

Examples::

    python tools/analysis_tools/benchmark.py --batch-size 32 --iters 10
    python tools/analysis_tools/benchmark.py --mode data --rounds 5
    python tools/analysis_tools/benchmark.py --mode data --profile
"""
import argparse
import importlib
import json
import os
import statistics
import tempfile
import threading
import time
from typing import Callable, Dict, List

import torch
from mmengine.config import Config, DictAction
from mmengine.logging import MessageHub
from mmengine.model import revert_sync_batchnorm
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from torch.utils.flop_counter import FlopCounterMode

import mcl_mm  # noqa: F401
from mcl_mm.models import split_tiles
from mmpretrain.registry import MODELS

MCL_CONFIG = 'configs/mcl/mcl_r50-fpn_32xb128-amp-coslr-100e_in1k.py'
BYOL_CONFIG = 'mmpretrain::byol/byol_resnet50_16xb256-coslr-200e_in1k.py'


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--mode', choices=['model', 'data'], default='model')
    parser.add_argument('--mcl', default=MCL_CONFIG, help='MCL config')
    parser.add_argument('--byol', default=BYOL_CONFIG, help='BYOL config')
    parser.add_argument('--levels', type=int, default=3,
                        help='MCL levels S (scales 2^i, one tile per image)')
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--resolution', type=int, default=224)
    parser.add_argument('--iters', type=int, default=10,
                        help='timed steps per model')
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--device', default='cuda' if
                        torch.cuda.is_available() else 'cpu')
    parser.add_argument('--amp', action='store_true',
                        help='AmpOptimWrapper (bf16 on CPU, fp16 on CUDA)')
    parser.add_argument('--channels-last', action='store_true')
    parser.add_argument('--mcl-options', nargs='+', action=DictAction,
                        help='overrides of the MCL config')
    parser.add_argument('--byol-options', nargs='+', action=DictAction,
                        help='overrides of the BYOL config')
    parser.add_argument('--data-dir', help='JPEG files for --mode data '
                        '(default: scikit-image photos re-encoded as JPEG)')
    parser.add_argument('--rounds', type=int, default=5,
                        help='--mode data: passes over the files per model')
    parser.add_argument('--profile', action='store_true',
                        help='also print where the time goes: per model the '
                        'top ops of one step (torch.profiler), per pipeline '
                        'the time of each transform class (cProfile)')
    parser.add_argument('--json', help='write the figures to this file')
    return parser.parse_args()


def load_config(path: str) -> Config:
    """``Config.fromfile`` that also takes ``package::path`` names."""
    if '::' in path:
        package, rel = path.split('::', 1)
        root = os.path.dirname(importlib.import_module(package).__file__)
        path = os.path.join(root, '.mim', 'configs', rel)
    return Config.fromfile(path)


def build_authors_encoder(model_cfg, args) -> torch.nn.Sequential:
    """The authors' encoder for a config: the FPN keeps all its outputs
    (P2-P5), whatever the number of levels."""
    return torch.nn.Sequential(*[
        revert_sync_batchnorm(MODELS.build(model_cfg[part]))
        for part in ('backbone', 'neck', 'tile_head')
    ]).to(args.device)


def build(config: str, options: dict, args) -> tuple:
    """Model and optimizer wrapper of a config, on ``args.device``; for MCL
    also the authors' encoder (for FLOPs)."""
    cfg = load_config(config)
    if options:
        cfg.merge_from_dict(options)
    cfg.model.setdefault('data_preprocessor', cfg.get('data_preprocessor'))
    authors = None
    if cfg.model.type == 'MCL':
        authors = build_authors_encoder(cfg.model, args)
        scales = tuple(2**i for i in range(args.levels))
        cfg.model.montage.update(
            resolution=args.resolution, scales=scales,
            tiles_per_image=(1, ) * args.levels)
        cfg.model.head.num_levels = args.levels
        # keep only the pyramid outputs the levels read
        drop = len(cfg.model.neck.in_channels) - args.levels
        if drop > 0:
            cfg.model.backbone.out_indices = \
                cfg.model.backbone.out_indices[drop:]
            cfg.model.neck.in_channels = cfg.model.neck.in_channels[drop:]
            cfg.model.neck.num_outs = args.levels
            cfg.model.pyramid_strides = \
                tuple(cfg.model.get('pyramid_strides', (4, 8, 16, 32)))[drop:]
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    model.init_weights()
    model.to(args.device)
    if args.channels_last:
        model.to(memory_format=torch.channels_last)
    optim_cfg = cfg.optim_wrapper.copy()
    optim_cfg.type = 'AmpOptimWrapper' if args.amp else 'OptimWrapper'
    if args.amp:
        optim_cfg.setdefault('loss_scale', 'dynamic')
        if args.device == 'cpu':
            optim_cfg.dtype = 'bfloat16'
    else:
        optim_cfg.pop('loss_scale', None)
    return model, build_optim_wrapper(model, optim_cfg), authors


def make_batch(model, args) -> dict:
    """Synthetic uint8 views as the pipeline would deliver them."""
    b, res = args.batch_size, args.resolution
    if hasattr(model, 'tiler'):  # MCL: each level's copy at its tile size
        sizes = [model.tiler.tile_size(i)
                 for i in range(model.tiler.num_levels)] * 2
    else:
        sizes = [res, res]
    inputs = [torch.randint(0, 256, (b, 3, s, s), dtype=torch.uint8)
              for s in sizes]
    return dict(inputs=inputs, data_samples=None)


def sync(device: str) -> None:
    if device.startswith('cuda'):
        torch.cuda.synchronize()


class PeakMemory:
    """Peak memory of what runs inside: CUDA max allocated, or on the CPU
    the peak resident set size above the level at entry (sampled)."""

    def __init__(self, device: str) -> None:
        self.device = device
        self.peak = 0

    @staticmethod
    def _rss() -> int:
        with open('/proc/self/statm') as f:
            return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')

    def __enter__(self):
        if self.device.startswith('cuda'):
            torch.cuda.reset_peak_memory_stats()
            self.base = 0
        else:
            self.base, self._stop = self._rss(), False
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop:
            self.peak = max(self.peak, self._rss() - self.base)
            time.sleep(0.002)

    def __exit__(self, *exc) -> None:
        if self.device.startswith('cuda'):
            self.peak = torch.cuda.max_memory_allocated()
        else:
            self._stop = True
            self._thread.join()


def train_step(model, optim_wrapper, batch) -> Callable[[], None]:
    def step():
        model.train_step(batch, optim_wrapper)
    return step


def count_flops(fn: Callable[[], None]) -> int:
    counter = FlopCounterMode(display=False)
    with counter:
        fn()
    return counter.get_total_flops()


def authors_forward(model, encoder, batch) -> None:
    """The authors' formulation of MCL's forward pass (for FLOPs only).

    Online and target (same architecture: ``encoder`` runs twice) both run
    every level; every output of the full FPN (P2-P5) of every montage is
    cut into tiles of the level-0 cell count and every tile passes the
    4-conv head and the projection.
    """
    data = model.data_preprocessor(batch, True)
    num_levels = model.tiler.num_levels
    views = [data['inputs'][:num_levels], data['inputs'][num_levels:]]
    cells = model.tiler.resolution // 32
    backbone, neck, tile_head = encoder
    for _ in ('online', 'target'):
        for view in views:
            montages, _ = model.tiler(view)
            pyramid = neck(backbone(torch.cat(montages)))
            tiles = torch.cat([
                split_tiles(p, p.size(-1) // cells) for p in pyramid])
            x = tiles
            for conv in tile_head.shared_convs:
                x = conv(x)
            tile_head.projection((x, ))


def ours_forward(model, batch) -> None:
    model(**model.data_preprocessor(batch, True), mode='loss')


def median_time(fn: Callable[[], None], device: str, n: int) -> float:
    times = []
    for _ in range(n):
        sync(device)
        start = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure_models(args) -> Dict[str, dict]:
    init_default_scope('mmpretrain')
    MessageHub.get_current_instance().update_info('max_iters', 10**6)
    models = {
        'MCL': build(args.mcl, args.mcl_options, args),
        'BYOL': build(args.byol, args.byol_options, args),
    }
    authors_encoder = models['MCL'][2]
    batches = {k: make_batch(m, args) for k, (m, _, _) in models.items()}
    steps = {
        k: train_step(m, o, batches[k])
        for k, (m, o, _) in models.items()
    }
    times: Dict[str, List[float]] = {k: [] for k in models}
    peaks = {k: 0 for k in models}
    for it in range(args.warmup + args.iters):
        for name, step in steps.items():  # interleaved A B A B
            sync(args.device)
            with PeakMemory(args.device) as mem:
                start = time.perf_counter()
                step()
                sync(args.device)
                elapsed = time.perf_counter() - start
            if it >= args.warmup:
                times[name].append(elapsed)
                peaks[name] = max(peaks[name], mem.peak)
    results = {}
    for name, (model, _, _) in models.items():
        median = statistics.median(times[name])
        with torch.no_grad():
            fwd = count_flops(lambda: ours_forward(model, batches[name]))
        results[name] = dict(
            step_time_s=median,
            images_per_s=args.batch_size / median,
            peak_memory_mb=peaks[name] / 2**20,
            train_gflops_per_image=count_flops(steps[name]) / 1e9 /
            args.batch_size,
            forward_gflops_per_image=fwd / 1e9 / args.batch_size)
    mcl = models['MCL'][0]
    with torch.no_grad():
        authors = count_flops(
            lambda: authors_forward(mcl, authors_encoder, batches['MCL']))
        inputs = mcl.data_preprocessor(batches['MCL'], True)['inputs']
        levels = mcl.tiler.num_levels
        tiling = median_time(
            lambda: [mcl.tiler(inputs[v * levels:(v + 1) * levels])
                     for v in (0, 1)], args.device, max(args.iters, 3))
    results['MCL']['tiling_time_s'] = tiling
    if args.profile:
        results['profile_tables'] = profile_models(steps)
    results['MCL_authors'] = dict(
        forward_gflops_per_image=authors / 1e9 / args.batch_size)
    results['ratios'] = dict(
        step_time_mcl_over_byol=results['MCL']['step_time_s'] /
        results['BYOL']['step_time_s'],
        peak_memory_mcl_over_byol=results['MCL']['peak_memory_mb'] /
        max(results['BYOL']['peak_memory_mb'], 1e-9),
        train_flops_mcl_over_byol=results['MCL']['train_gflops_per_image'] /
        results['BYOL']['train_gflops_per_image'],
        forward_flops_ours_over_authors=results['MCL']
        ['forward_gflops_per_image'] /
        results['MCL_authors']['forward_gflops_per_image'],
        tiling_share_of_mcl_step=tiling / results['MCL']['step_time_s'])
    return results


def jpeg_files(data_dir: str) -> List[str]:
    """The JPEG files of ``data_dir``, or the scikit-image photographs
    re-encoded as JPEG into a temporary folder."""
    if data_dir is None:
        from PIL import Image

        from mcl_mm.utils.demo_data import skimage_photos
        data_dir = tempfile.mkdtemp(prefix='mcl_bench_jpeg_')
        for path in skimage_photos():
            name = os.path.splitext(os.path.basename(path))[0] + '.jpg'
            with Image.open(path) as img:
                img.convert('RGB').save(
                    os.path.join(data_dir, name), quality=95)
    files = sorted(
        os.path.join(data_dir, f) for f in os.listdir(data_dir)
        if f.lower().endswith(('.jpg', '.jpeg')))
    if not files:
        raise FileNotFoundError(f'no JPEG files in {data_dir}')
    return files


def train_pipeline(config: str, options: dict, args) -> Callable:
    """The training pipeline of a config (MCL's set to ``--levels``)."""
    from mmcv.transforms import Compose
    cfg = load_config(config)
    if options:
        cfg.merge_from_dict(options)
    pipeline = cfg.train_dataloader.dataset.pipeline
    for t in pipeline:
        if t['type'] == 'MontageAssembly':
            t['num_levels'] = args.levels
            if t.get('tile_sizes') is not None:
                t['tile_sizes'] = [
                    args.resolution // 2**i for i in range(args.levels)]
    return Compose(pipeline)


def measure_data(args) -> Dict[str, dict]:
    init_default_scope('mmpretrain')
    files = jpeg_files(args.data_dir)
    pipelines = {
        'MCL': train_pipeline(args.mcl, args.mcl_options, args),
        'BYOL': train_pipeline(args.byol, args.byol_options, args),
    }
    rates: Dict[str, List[float]] = {k: [] for k in pipelines}
    for _ in range(args.rounds):  # interleaved A B A B
        for name, pipeline in pipelines.items():
            start = time.perf_counter()
            for path in files:
                pipeline(dict(img_path=path))
            rates[name].append(len(files) / (time.perf_counter() - start))
    results = {
        name: dict(images_per_s_per_worker=statistics.median(r))
        for name, r in rates.items()
    }
    results['ratios'] = dict(
        data_images_per_s_mcl_over_byol=results['MCL']
        ['images_per_s_per_worker'] /
        results['BYOL']['images_per_s_per_worker'])
    results['files'] = len(files)
    if args.profile:
        results['profile_ms_per_image'] = profile_pipelines(pipelines, files)
    return results


def transform_codes() -> Dict[tuple, str]:
    """(file, first line) of every registered transform's ``transform``."""
    from mmcv.transforms import TRANSFORMS as MMCV_TRANSFORMS

    from mmpretrain.registry import TRANSFORMS
    codes = {}
    for registry in (MMCV_TRANSFORMS, TRANSFORMS):
        for name, cls in registry.module_dict.items():
            if 'transform' not in vars(cls):
                continue  # inherited: the defining class names the code
            code = getattr(vars(cls)['transform'], '__code__', None)
            if code is not None:
                codes[(code.co_filename, code.co_firstlineno)] = name
    return codes


def profile_pipelines(pipelines: Dict[str, Callable],
                      files: List[str]) -> Dict[str, Dict[str, float]]:
    """Milliseconds per image in each transform class (cumulative)."""
    import cProfile
    import pstats
    codes = transform_codes()
    out = {}
    for name, pipeline in pipelines.items():
        prof = cProfile.Profile()
        prof.enable()
        for path in files:
            pipeline(dict(img_path=path))
        prof.disable()
        per_class: Dict[str, float] = {}
        for (file, line, _), stat in pstats.Stats(prof).stats.items():
            cls = codes.get((file, line))
            if cls:
                per_class[cls] = per_class.get(cls, 0.) + stat[3]
        out[name] = {
            k: 1e3 * v / len(files)
            for k, v in sorted(per_class.items(), key=lambda kv: -kv[1])
        }
    return out


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
        key = ('self_cuda_time_total' if len(activities) > 1 else
               'self_cpu_time_total')
        tables[name] = prof.key_averages().table(sort_by=key,
                                                 row_limit=rows)
    return tables


def print_models(results: dict) -> None:
    print(f"{'model':<12}{'step s':>9}{'img/s':>9}{'peak MB':>10}"
          f"{'train GFLOP/img':>17}{'fwd GFLOP/img':>15}")
    for name in ('MCL', 'BYOL'):
        r = results[name]
        print(f"{name:<12}{r['step_time_s']:>9.4f}{r['images_per_s']:>9.1f}"
              f"{r['peak_memory_mb']:>10.0f}"
              f"{r['train_gflops_per_image']:>17.2f}"
              f"{r['forward_gflops_per_image']:>15.2f}")
    print(f"{'MCL authors':<12}{'':>45}"
          f"{results['MCL_authors']['forward_gflops_per_image']:>15.2f}")
    print(f"MCL montage tiling: {results['MCL']['tiling_time_s'] * 1e3:.2f} "
          'ms per step')


def main():
    args = parse_args()
    torch.manual_seed(0)
    results = (measure_models if args.mode == 'model' else measure_data)(args)
    results['setup'] = dict(
        device=(torch.cuda.get_device_name() if args.device.startswith('cuda')
                else f'cpu ({torch.get_num_threads()} threads)'),
        batch_size=args.batch_size, resolution=args.resolution,
        levels=args.levels, iters=args.iters, warmup=args.warmup,
        amp=args.amp, channels_last=args.channels_last,
        mcl=args.mcl, byol=args.byol, torch=torch.__version__)
    print(f"device: {results['setup']['device']}, batch "
          f'{args.batch_size} x {args.resolution}px, S={args.levels}, '
          f'amp={args.amp}, channels_last={args.channels_last}')
    if args.mode == 'model':
        print_models(results)
    else:
        print(f"pipelines on {results['files']} JPEG files, one worker:")
        for name in ('MCL', 'BYOL'):
            print(f"{name:<12}"
                  f"{results[name]['images_per_s_per_worker']:>9.1f} img/s")
    for key, value in results['ratios'].items():
        print(f'{key}: {value:.3f}')
    for name, table in results.get('profile_tables', {}).items():
        print(f'{name}: one training step, top ops by self time')
        print(table)
    for name, per_class in results.get('profile_ms_per_image', {}).items():
        print(f'{name} pipeline, ms per image in each transform class '
              '(cumulative):')
        for cls, ms in per_class.items():
            print(f'  {cls:<28}{ms:>9.2f}')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=2)
        print(f'figures written to {args.json}')


if __name__ == '__main__':
    main()
