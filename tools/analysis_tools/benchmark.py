# Copyright (c) mcl_mm contributors. All rights reserved.
"""Side-by-side cost of MCL and BYOL training steps, in one process.

The command line of :mod:`benchmarks.step_cost` and
:mod:`benchmarks.pipeline_cost`. Builds both models from their configs,
each at the settings its config ships (MCL as this package ships it, stock
BYOL as mmpretrain ships it: optimizer wrapper and mixed precision, memory
format; printed first), feeds them synthetic batches of the same batch size
and resolution, and times full training steps that do not log (data
preprocessor, forward, backward, optimizer step) interleaved A B A B after
a warm-up. Prints per model the median step time, images/s, peak memory,
FLOPs per image, the aten ops, syncs and SVDs / eigendecompositions of a
step that does not log and of one that logs (collapse metrics), then the
MCL/BYOL ratios, the training and forward FLOPs of the same MCL config in
the authors' forward (``forward_mode='authors'``: tile head on every
pyramid output of every montage, target network on every level), and the
share of the MCL step spent tiling montages.

``--mode flops`` counts the FLOPs alone, without timing: training and
forward GFLOPs per image of MCL, MCL in the authors' forward and BYOL, and
their ratios (one step each); ``--forward-only`` counts the loss forwards
alone, in the memory of one forward (224 px on a small CPU machine).

``--mode data`` measures the training data alone instead: images/s of one
data worker (one process: the pipeline, the collate and the pickling to
the main process) on real JPEG files, rounds interleaved, for MCL with its
crops on the CPU (``MCL``), MCL with its crops on the device (``MCL_device_
crop``: the workers only decode and draw the crop boxes) and BYOL.

``--mode augment`` measures one call of MCL's device augments alone
(:mod:`benchmarks.augment_cost`): the aten ops it dispatches and its
time in elementwise passes over the same views (``--iters`` timed calls,
median), against the targets of 150 ops and 15 passes.

``--mode loader`` trains each model for ``--warmup`` + ``--iters``
iterations on the images of ``--data-dir`` with ``--workers`` data loader
workers (the configs' pipelines, optimisers and preprocessors, as
``tools/train.py`` runs them) and prints how much of a step waits for data
(mmengine's ``data_time`` over ``time``, the warm-up left out).

``--profile`` adds where the time goes: the top ops of one training step of
each model (torch.profiler, self time) or, in data mode, the milliseconds
per image spent in each worker stage (decode, crop and resize, shrink,
flip, copies, collate, pickling...) and each transform class (cProfile,
cumulative: wrappers such as MontageAssembly or RandomApply include what
they call).

``--precision amp`` trains each as ``tools/train.py --amp`` would (stock
BYOL in float16 AMP; MCL in its config's mixed precision), ``fp32`` both in
float32; ``--channels-last both`` puts BYOL in channels-last too (``none``:
neither model); ``--compile mcl`` compiles MCL's training step (mmengine's
``compile=True``), ``--compile both`` BYOL's too (mmpretrain's ``LARS``,
stock BYOL's optimizer, fails under dynamo in torch 2.14).

Examples::

    python tools/analysis_tools/benchmark.py --batch-size 32 --iters 10
    python tools/analysis_tools/benchmark.py --channels-last both
    python tools/analysis_tools/benchmark.py --mode data --rounds 5
    python tools/analysis_tools/benchmark.py --mode data --profile
    python tools/analysis_tools/benchmark.py --mode loader --data-dir DIR \
        --workers 8 --batch-size 128 --iters 40 --warmup 10
"""
import argparse
import json
import os.path as osp
import sys

import torch
from mmengine.config import DictAction

# benchmarks/ (the repository's measurements) is not installed with
# mcl_mm: import it from the checkout this script runs in
sys.path.insert(0,
                osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from benchmarks import (jpeg_files, load_config, measure_augment,
                        measure_data_wait, measure_flops, measure_models,
                        measure_pipelines, montage_options)

COMPILED = dict(none=(), mcl=('MCL', ), both=('MCL', 'BYOL'))
MCL_CONFIG = 'configs/mcl/mcl_r50-fpn_32xb128-amp-coslr-100e_in1k.py'
BYOL_CONFIG = 'mmpretrain::byol/byol_resnet50_16xb256-coslr-200e_in1k.py'
CROP_ON_DEVICE = 'model.data_preprocessor.crop_on_device'


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--mode',
        choices=['model', 'flops', 'data', 'loader', 'augment'],
        default='model')
    parser.add_argument(
        '--mcl',
        default=MCL_CONFIG,
        help='MCL config: a file, package::path or arm:NAME (an arm of the '
        'mini transfer, benchmarks/mini_transfer_arms.py)')
    parser.add_argument(
        '--byol', default=BYOL_CONFIG, help='BYOL config (as --mcl)')
    parser.add_argument(
        '--levels',
        type=int,
        default=3,
        help='MCL levels S: model.montage.scales=(1, 2, .., 2^(S-1)), '
        'one tile per image')
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--resolution', type=int, default=224)
    parser.add_argument(
        '--iters', type=int, default=10, help='timed steps per model')
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument(
        '--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument(
        '--precision',
        choices=['config', 'amp', 'fp32'],
        default='config',
        help="config: each config's optimizer wrapper; amp: as "
        'tools/train.py --amp trains each (stock BYOL in fp16 AMP, MCL in '
        "its config's mixed precision); fp32: both in float32. mmengine's "
        'AmpOptimWrapper runs in float32 on the CPU')
    parser.add_argument(
        '--channels-last',
        choices=['config', 'both', 'none'],
        default='config',
        help="config: each config's memory format; both / none: "
        'channels-last for both models / for neither')
    parser.add_argument(
        '--compile',
        choices=['none', 'mcl', 'both'],
        default='none',
        help="torch.compile MCL's training step, or both models'")
    parser.add_argument(
        '--forward-only',
        action='store_true',
        help='--mode flops: count the loss forwards only (no backward)')
    parser.add_argument(
        '--mcl-options',
        nargs='+',
        action=DictAction,
        help='overrides of the MCL config')
    parser.add_argument(
        '--byol-options',
        nargs='+',
        action=DictAction,
        help='overrides of the BYOL config')
    parser.add_argument(
        '--data-dir',
        help='JPEG files for --mode data (default: scikit-image photos '
        're-encoded as JPEG); the image folder of --mode loader')
    parser.add_argument(
        '--workers',
        type=int,
        default=8,
        help='--mode loader: data loader workers')
    parser.add_argument(
        '--rounds',
        type=int,
        default=5,
        help='--mode data: passes over the files per model')
    parser.add_argument(
        '--profile',
        action='store_true',
        help='also print where the time goes: per model the '
        'top ops of one step (torch.profiler), per pipeline '
        'the time of each transform class (cProfile)')
    parser.add_argument('--json', help='write the figures to this file')
    return parser.parse_args()


def print_table(results: dict, columns: list,
                names: tuple = ('MCL', 'BYOL')) -> None:
    """One row per model; ``columns``: (header, key, width, format, scale)."""
    print(f"{'model':<12}" + ''.join(f'{c[0]:>{c[2]}}' for c in columns))
    for name in names:
        print(f'{name:<12}' +
              ''.join(f'{results[name][key] * scale:>{width}{spec}}'
                      for _, key, width, spec, scale in columns))


def print_settings(results: dict) -> None:
    for name in ('MCL', 'BYOL'):
        s = results[name]['settings']
        print(f"{name} settings: {s['optim_wrapper']} ({s['dtype']}), "
              f"channels_last={s['channels_last']}, compile={s['compile']}")


def print_models(results: dict) -> None:
    print_settings(results)
    print_table(results,
                [('step s', 'step_time_s', 9, '.4f', 1),
                 ('img/s', 'images_per_s', 9, '.1f', 1),
                 ('peak MB', 'peak_memory_mb', 10, '.0f', 1),
                 ('train GFLOP/img', 'train_gflops_per_image', 17, '.2f', 1),
                 ('fwd GFLOP/img', 'forward_gflops_per_image', 15, '.2f', 1),
                 ('aten ops/step', 'train_aten_ops', 15, '.0f', 1),
                 ('syncs/step', 'train_sync_ops', 12, '.0f', 1),
                 ('SVD/eig/step', 'train_decomposition_ops', 13, '.0f', 1)])
    print('a step that logs (collapse metrics):')
    print_table(results,
                [('step s', 'logging_step_time_s', 9, '.4f', 1),
                 ('aten ops/step', 'logging_aten_ops', 15, '.0f', 1),
                 ('syncs/step', 'logging_sync_ops', 12, '.0f', 1),
                 ('SVD/eig/step', 'logging_decomposition_ops', 13, '.0f', 1)])
    authors = results['MCL_authors']
    print(f"{'MCL authors':<12}{'':>28}"
          f"{authors['train_gflops_per_image']:>17.2f}"
          f"{authors['forward_gflops_per_image']:>15.2f}"
          "  (forward_mode='authors', FLOPs only)")
    print(f"MCL montage tiling: {results['MCL']['tiling_time_s'] * 1e3:.2f} "
          'ms per step; photometric augmentation on the device: '
          f"{results['MCL']['device_augment_time_s'] * 1e3:.2f} ms per step")


# the augment targets: aten ops per call (any batch) and elementwise passes
# (the memory-bandwidth floor is a few passes)
AUGMENT_TARGETS = dict(aten_ops_per_call=150, elementwise_passes=15)


def print_augment(r: dict) -> None:
    print(f"device augments, one call over {r['megapixels']:.2f} Mpixels: "
          f"{r['aten_ops_per_call']} aten ops ({r['view_ops_per_call']} "
          f"of them views), {r['augment_ms']:.2f} ms; "
          f"one elementwise pass {r['elementwise_pass_ms']:.3f} ms: "
          f"{r['elementwise_passes']:.1f} passes" +
          (' (freed CPU memory kept in the heap)'
           if r['cpu_heap_retained'] else ''))
    for key, target in AUGMENT_TARGETS.items():
        met = 'met' if r[key] <= target else 'not met'
        print(f'target {key} <= {target}: {met} ({r[key]:.1f})')


def main():
    args = parse_args()
    torch.manual_seed(0)
    mcl_options = montage_options(args.levels, args.resolution)
    mcl_options.update(args.mcl_options or {})
    configs = dict(
        MCL=load_config(args.mcl, mcl_options),
        BYOL=load_config(args.byol, args.byol_options))
    if args.mode == 'model':
        channels_last = {}
        if args.channels_last != 'config':
            channels_last = dict.fromkeys(('MCL', 'BYOL'),
                                          args.channels_last == 'both')
        results = measure_models(configs, args.batch_size, args.resolution,
                                 args.iters, args.warmup, args.device,
                                 args.precision, channels_last,
                                 COMPILED[args.compile], args.profile)
    elif args.mode == 'flops':
        results = measure_flops(configs, args.batch_size, args.resolution,
                                args.device, not args.forward_only)
    elif args.mode == 'augment':
        results = dict(
            MCL=measure_augment(configs['MCL'], args.batch_size, args.device,
                                max(args.iters, 1)))
        results['ratios'] = {}
    elif args.mode == 'loader':
        if not args.data_dir:
            raise SystemExit('--mode loader needs --data-dir (a folder of '
                             'training images)')
        results = measure_data_wait(configs, args.data_dir,
                                    args.warmup + args.iters, args.workers,
                                    args.warmup, args.batch_size,
                                    args.precision)
    else:
        mcl = load_config(args.mcl, dict(mcl_options,
                                         **{CROP_ON_DEVICE: False}))
        arms = dict(MCL=mcl)
        # the crops go to the device only with the photometric steps (the
        # resolved config says where those run, options or file alike)
        if (mcl.model.get('data_preprocessor')
                or {}).get('augment_on_device', True):
            arms['MCL_device_crop'] = load_config(
                args.mcl, dict(mcl_options, **{CROP_ON_DEVICE: True}))
        configs = dict(arms, BYOL=configs['BYOL'])
        results = measure_pipelines(configs, jpeg_files(args.data_dir),
                                    args.rounds, args.profile, args.batch_size)
    results['setup'] = dict(
        device=(torch.cuda.get_device_name() if args.device.startswith('cuda')
                else f'cpu ({torch.get_num_threads()} threads)'),
        batch_size=args.batch_size,
        resolution=args.resolution,
        levels=args.levels,
        iters=args.iters,
        warmup=args.warmup,
        precision=args.precision,
        channels_last=args.channels_last,
        compile=args.compile,
        mcl=args.mcl,
        byol=args.byol,
        torch=torch.__version__)
    print(f"device: {results['setup']['device']}, batch "
          f'{args.batch_size} x {args.resolution}px, S={args.levels}, '
          f'precision={args.precision}, channels_last='
          f'{args.channels_last}, compile={args.compile}')
    if args.mode == 'model':
        print_models(results)
    elif args.mode == 'flops':
        columns = [('fwd GFLOP/img', 'forward_gflops_per_image', 15, '.2f', 1)]
        if not args.forward_only:
            columns.insert(
                0, ('train GFLOP/img', 'train_gflops_per_image', 17, '.2f', 1))
        print_table(results, columns, names=('MCL', 'MCL_authors', 'BYOL'))
    elif args.mode == 'augment':
        print_augment(results['MCL'])
    elif args.mode == 'loader':
        print(f'training runs, {args.workers} data loader workers, '
              f'{args.iters} iterations after {args.warmup}:')
        print_table(results, [('step s', 'time_s', 9, '.4f', 1),
                              ('data s', 'data_time_s', 9, '.4f', 1),
                              ('wait %', 'data_wait_share', 8, '.1f', 100),
                              ('img/s', 'images_per_s', 9, '.1f', 1)])
        for name in ('MCL', 'BYOL'):
            skipped = results[name]['skipped_steps']
            print(f'{name} skipped steps (mixed precision): ' +
                  ('not counted' if skipped is None else str(skipped)))
    else:
        print(f"one data worker on {results['files']} JPEG files "
              f"(pipeline, collate per {results['batch_size']}, pickling):")
        for name in configs:
            print(f"{name:<16}"
                  f"{results[name]['images_per_s_per_worker']:>9.1f} img/s")
    for key, value in results['ratios'].items():
        print(f'{key}: {value:.3f}')
    for name, table in results.get('profile_tables', {}).items():
        print(f'{name}: one training step, top ops by self time')
        print(table)
    stages = results.get('profile_stages_ms_per_image', {})
    if stages:
        names = list(stages)
        print('worker stages, ms per image: ' + ', '.join(names))
        for stage in dict.fromkeys(k for v in stages.values() for k in v):
            print(f'  {stage:<24}' +
                  ''.join(f'{stages[n].get(stage, 0.):>9.2f}' for n in names))
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
