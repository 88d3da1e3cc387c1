# Copyright (c) mcl_mm contributors. All rights reserved.
"""Small-scale evidence: MCL vs BYOL vs random init, transferred to Mask R-CNN.

On the copy-paste set of real photographs (tools/prepare_paste_data.py),
for every seed: pre-train MCL and mmpretrain's BYOL with the same backbone
(R18), resolution, data, batch, optimiser and iterations; fine-tune the
same Mask R-CNN R18-FPN-CONV from each checkpoint and from random init;
then print bbox / segm AP on the held-out test split (mean and spread over
the seeds), write ``results.json``, ``results.md`` and a plot of the
fine-tuning AP curves ``curves.png`` under the work dir.

Example (the default size; the time it took is in README)::

    python tools/benchmarks/mini_transfer.py --work-dir work_dirs/mini_transfer

On GPUs, scale it up by flags, e.g. ``--gpus 1 --pretrain-iters 5000 --pretrain-batch 64
--num-pretrain 20000 --num-train 2000 --finetune-epochs 24``.
"""
import argparse
import glob
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
import time
from typing import Dict, List

import torch
from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CFG_DIR = osp.join(ROOT, 'configs', 'benchmarks', 'mini_transfer')
PRETRAIN = dict(
    mcl=osp.join(CFG_DIR, 'mcl_r18-fpn_1xb16-96px-s3-400it_paste.py'),
    byol=osp.join(CFG_DIR, 'byol_r18_1xb16-96px-400it_paste.py'))
FINETUNE = osp.join(CFG_DIR, 'mask-rcnn_r18-fpn-conv_1xb4-10e_paste.py')
INITS = ('mcl', 'byol', 'random')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(__doc__.splitlines()[2:]))
    parser.add_argument('--work-dir', default='work_dirs/mini_transfer')
    parser.add_argument('--data-dir', default='data/paste')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1])
    parser.add_argument('--pretrain-iters', type=int, default=400)
    parser.add_argument('--pretrain-batch', type=int, default=16)
    parser.add_argument('--finetune-epochs', type=int, default=10)
    parser.add_argument('--num-pretrain', type=int, default=512)
    parser.add_argument('--num-train', type=int, default=64)
    parser.add_argument('--num-test', type=int, default=32)
    parser.add_argument('--gpus', type=int, default=0,
                        help='GPUs per run (0: CPU)')
    return parser.parse_args()


def run(cmd: List[str], log: str) -> float:
    """Run a stage, its output to ``log``; fail loudly with the log tail.
    Finished stages are kept: running the tool again skips them."""
    start = time.time()
    env = dict(os.environ)
    env['PATH'] = osp.dirname(sys.executable) + os.pathsep + env['PATH']
    env['PYTHONPATH'] = ROOT + os.pathsep + env.get('PYTHONPATH', '')
    with open(log, 'w') as f:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=f,
                              stderr=subprocess.STDOUT)
    if proc.returncode:
        with open(log) as f:
            tail = f.read()[-3000:]
        raise RuntimeError(f'{" ".join(cmd)} failed (log {log}):\n{tail}')
    return time.time() - start


def pretrain(method: str, seed: int, args, work_dir: str) -> str:
    iters = args.pretrain_iters
    ckpt = osp.join(work_dir, f'iter_{iters}.pth')
    if osp.isfile(ckpt):  # a re-run goes on where the last one stopped
        print(f'  reusing {ckpt}', flush=True)
        return ckpt
    cfg = Config.fromfile(PRETRAIN[method])
    cfg.train_cfg.max_iters = iters
    cfg.param_scheduler[0].end = min(10, iters)
    cfg.param_scheduler[1].update(begin=min(10, iters), end=iters,
                                  T_max=max(1, iters - 10))
    cfg.default_hooks.checkpoint.interval = iters
    cfg.train_dataloader.batch_size = args.pretrain_batch
    cfg.train_dataloader.dataset.data_root = osp.join(
        osp.abspath(args.data_dir), 'pretrain')
    cfg.randomness = dict(seed=seed)
    os.makedirs(work_dir, exist_ok=True)
    path = osp.join(work_dir, 'config.py')
    cfg.dump(path)
    if args.gpus > 0:
        cmd = ['bash', osp.join(ROOT, 'tools', 'dist_train.sh'), path,
               str(args.gpus), '--work-dir', work_dir]
    else:
        cmd = [sys.executable, osp.join(ROOT, 'tools', 'train.py'), path,
               '--work-dir', work_dir]
    seconds = run(cmd, osp.join(work_dir, 'run.log'))
    print(f'  pre-trained {method} seed {seed}: {iters} iterations in '
          f'{seconds / 60:.1f} min', flush=True)
    return ckpt


def convert(method: str, ckpt: str, out: str) -> None:
    """MCL: backbone, FPN and head convs (convert_mcl.py --to mmdet);
    BYOL: its online backbone."""
    if method == 'mcl':
        run([sys.executable, osp.join(ROOT, 'tools', 'model_converters',
                                      'convert_mcl.py'), ckpt, out,
             '--to', 'mmdet'], out + '.log')
        return
    state = torch.load(ckpt, map_location='cpu', weights_only=True)
    backbone = {k: v for k, v in state['state_dict'].items()
                if k.startswith('backbone.')}
    torch.save(dict(state_dict=backbone, meta=dict(converted_from='BYOL')),
               out)


def finetune(init: str, seed: int, load_from, args, work_dir: str) -> None:
    epochs = args.finetune_epochs
    if osp.isfile(osp.join(work_dir, f'epoch_{epochs}.pth')):
        print(f'  reusing the finished fine-tune in {work_dir}', flush=True)
        return
    cfg = Config.fromfile(FINETUNE)
    cfg.train_cfg.max_epochs = epochs
    cfg.param_scheduler[1].update(
        end=epochs, milestones=[max(1, epochs * 7 // 10),
                                max(1, epochs * 9 // 10)])
    cfg.default_hooks.checkpoint.interval = epochs
    data_root = osp.abspath(args.data_dir) + '/'
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = data_root
    cfg.val_evaluator.ann_file = data_root + 'annotations/test.json'
    cfg.test_evaluator = cfg.val_evaluator
    cfg.load_from = load_from
    cfg.randomness = dict(seed=seed)
    os.makedirs(work_dir, exist_ok=True)
    path = osp.join(work_dir, 'config.py')
    cfg.dump(path)
    launcher = 'pytorch' if args.gpus > 0 else 'none'
    seconds = run(['mim', 'train', 'mmdet', path, '--gpus', str(args.gpus),
                   '--launcher', launcher, '--work-dir', work_dir],
                  osp.join(work_dir, 'run.log'))
    print(f'  fine-tuned from {init} seed {seed}: {epochs} epochs in '
          f'{seconds / 60:.1f} min', flush=True)


def read_curve(work_dir: str, epochs: int, interval: int) -> List[dict]:
    """Test-split AP at every validation epoch, from mmengine's
    scalars.json. mmdet's CocoMetric logs no AP when a model detects
    nothing at all; such an epoch counts as AP 0."""
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                      'scalars.json')))
    if not files:
        raise FileNotFoundError(f'no scalars.json under {work_dir}')
    found = {}
    with open(files[-1]) as f:
        for line in f:
            row = json.loads(line)
            if 'coco/bbox_mAP' in row:
                found[row['step']] = dict(bbox=100 * row['coco/bbox_mAP'],
                                          segm=100 * row['coco/segm_mAP'])
    return [
        dict(epoch=e, **found.get(e, dict(bbox=0.0, segm=0.0)))
        for e in range(interval, epochs + 1, interval)
    ]


def summarise(curves: Dict[str, Dict[int, List[dict]]]) -> dict:
    table = {}
    for init, by_seed in curves.items():
        finals = [c[-1] for c in by_seed.values()]
        row = {}
        for key in ('bbox', 'segm'):
            values = [f[key] for f in finals]
            row[key] = dict(
                mean=statistics.mean(values),
                std=statistics.stdev(values) if len(values) > 1 else 0.0,
                values=values)
        table[init] = row
    return table


def plot(curves: Dict[str, Dict[int, List[dict]]], path: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key in zip(axes, ('bbox', 'segm')):
        for init, by_seed in curves.items():
            epochs = [p['epoch'] for p in next(iter(by_seed.values()))]
            runs = [[p[key] for p in c] for c in by_seed.values()]
            mean = [statistics.mean(v) for v in zip(*runs)]
            line, = ax.plot(epochs, mean, marker='o', label=init)
            ax.fill_between(epochs, [min(v) for v in zip(*runs)],
                            [max(v) for v in zip(*runs)],
                            color=line.get_color(), alpha=0.2)
        ax.set_xlabel('fine-tuning epoch')
        ax.set_ylabel(f'{key} AP (test split)')
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle('Mask R-CNN R18-FPN-CONV on the copy-paste set: mean and '
                 'range over seeds')
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def markdown(table: dict, args) -> str:
    lines = [
        '| initialisation | bbox AP | segm AP | per seed (bbox) |',
        '| --- | --- | --- | --- |'
    ]
    for init in INITS:
        row = table[init]
        lines.append(
            f"| {init} | {row['bbox']['mean']:.1f} ± {row['bbox']['std']:.1f}"
            f" | {row['segm']['mean']:.1f} ± {row['segm']['std']:.1f} | "
            + ', '.join(f'{v:.1f}' for v in row['bbox']['values']) + ' |')
    held = (table['mcl']['bbox']['mean'] > table['byol']['bbox']['mean'] >
            table['random']['bbox']['mean'])
    lines.append('')
    lines.append(f'seeds {args.seeds}; mean ± sample std. Ranking MCL > '
                 f'BYOL > random (bbox AP): '
                 f'{"held" if held else "did not hold"}.')
    return '\n'.join(lines)


def main() -> None:
    args = parse_args()
    start = time.time()
    work_dir = osp.abspath(args.work_dir)
    os.makedirs(work_dir, exist_ok=True)
    if not osp.isfile(osp.join(args.data_dir, 'annotations', 'test.json')):
        from mcl_mm.utils.paste_data import make_paste_dataset
        make_paste_dataset(args.data_dir, args.num_pretrain, args.num_train,
                           args.num_test)
    interval = Config.fromfile(FINETUNE).train_cfg.val_interval
    curves: Dict[str, Dict[int, List[dict]]] = {i: {} for i in INITS}
    for seed in args.seeds:
        print(f'seed {seed}', flush=True)
        loads = dict(random=None)
        for method in ('mcl', 'byol'):
            wd = osp.join(work_dir, f'pretrain_{method}_seed{seed}')
            ckpt = pretrain(method, seed, args, wd)
            loads[method] = osp.join(wd, f'{method}_for_mmdet.pth')
            convert(method, ckpt, loads[method])
        for init in INITS:
            wd = osp.join(work_dir, f'finetune_{init}_seed{seed}')
            finetune(init, seed, loads[init], args, wd)
            curves[init][seed] = read_curve(wd, args.finetune_epochs,
                                            interval)
    table = summarise(curves)
    text = markdown(table, args)
    with open(osp.join(work_dir, 'results.json'), 'w') as f:
        json.dump(dict(table=table, curves=curves, args=vars(args),
                       minutes=(time.time() - start) / 60), f, indent=1)
    with open(osp.join(work_dir, 'results.md'), 'w') as f:
        f.write(text + '\n')
    plot(curves, osp.join(work_dir, 'curves.png'))
    print(text)
    print(f'total {(time.time() - start) / 60:.1f} min; results, curves.png '
          f'in {work_dir}')


if __name__ == '__main__':
    main()
