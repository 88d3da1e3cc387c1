# Copyright (c) mcl_mm contributors. All rights reserved.
"""Small-scale evidence: MCL vs BYOL vs random init, transferred to Mask R-CNN.

The stages of ``tools/benchmarks/mini_transfer.py``: per seed, pre-train MCL
and mmpretrain's BYOL with the same backbone, data, batch, optimiser and
iterations (the arms of :mod:`.mini_transfer_arms`); fine-tune the same
Mask R-CNN from each checkpoint and from random init; read the test-split
AP of every evaluated epoch and summarise the last one over the seeds.
Every stage keeps its output on disk and is skipped when it is already
there; a stage killed midway resumes from its last checkpoint (every
:data:`PRETRAIN_CHECKPOINT_EVERY` iterations, every fine-tuning epoch).
mmengine saves no random-number state, so a resumed stage is not bit-equal
to an uninterrupted one, and an evaluation cut off by the kill is not
repeated: its epoch is missing from the curve.
"""
import glob
import json
import os
import os.path as osp
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import torch
from mmengine.config import Config

from mcl_mm.converters.checkpoint_file import read_checkpoint
from .mini_transfer_arms import ARMS, CFG_DIR, ROOT, arm_config

FINETUNE = osp.join(CFG_DIR, 'mask-rcnn_r18-fpn-conv_1xb4-10e_paste.py')
# pre-training iterations between checkpoints (fine-tunes save every epoch):
# a killed stage loses at most this much
PRETRAIN_CHECKPOINT_EVERY = 50
INITS = ('mcl', 'byol', 'random')
Curve = List[Dict[str, float]]
# curve entry -> mmdet CocoMetric scalar (AP in %)
CURVE_KEYS = dict(
    bbox='coco/bbox_mAP',
    segm='coco/segm_mAP',
    bbox_AP75='coco/bbox_mAP_75',
    bbox_AP_s='coco/bbox_mAP_s')
# evidence metric -> curve entry
EVIDENCE_METRICS = dict(
    bbox_AP='bbox',
    segm_AP='segm',
    bbox_AP75='bbox_AP75',
    bbox_AP_s='bbox_AP_s')


@dataclass
class Settings:
    """The size of a mini transfer run.

    Args:
        data_dir (str): The copy-paste set (``tools/prepare_paste_data.py``).
        seeds (List[int]): One pre-training and fine-tuning per seed.
        pretrain_iters (int): Pre-training iterations.
        pretrain_batch (int): Pre-training batch size.
        finetune_epochs (int): Fine-tuning epochs.
        gpus (int): GPUs per run; 0 trains on the CPU, 1 on the default
            GPU without a launcher, more through PyTorch DDP.
        flops_ratio (float, optional): Also pre-train BYOL for this many
            times the iterations (``byol_flops``): equal FLOPs, MCL's
            training step costing that much more (1.332 measured by
            ``benchmark.py``). None: equal steps only.
        probe (bool): Dense-probe every pre-trained checkpoint on the test
            split (:func:`dense_probe`).
        ablations (List[str]): More pre-trained initialisations, keys of
            :data:`ARMS` (e.g. ``mcl_s1``).
        arms (List[str], optional): Exactly the initialisations to run or
            collect, in order (``random``: the fine-tune from random init),
            instead of ``mcl``, ``byol`` (``byol_flops``), ``ablations`` and
            ``random``.
        configs (Dict[str, str]): Pre-training config files of arms that
            :data:`ARMS` does not name.
        val_begin (int): First fine-tuning epoch evaluated (then every 2nd
            and the last); later than 1 saves the evaluations before the
            curve can have flattened.
    """
    data_dir: str = 'data/paste'
    seeds: List[int] = field(default_factory=lambda: [0, 1])
    pretrain_iters: int = 400
    pretrain_batch: int = 16
    finetune_epochs: int = 10
    gpus: int = 0
    flops_ratio: Optional[float] = None
    probe: bool = False
    ablations: List[str] = field(default_factory=list)
    val_begin: int = 1
    arms: Optional[List[str]] = None
    configs: Dict[str, str] = field(default_factory=dict)


def pretrain_schedule(iters: int, warmup: int = 10) -> List[dict]:
    """The pre-training configs' schedule for ``iters`` iterations: linear
    warm-up over ``warmup`` iterations (at most half of them), then cosine
    to 1e-4."""
    warmup = min(warmup, iters // 2)
    cosine = dict(
        type='CosineAnnealingLR',
        T_max=iters - warmup,
        eta_min=1e-4,
        by_epoch=False,
        begin=warmup,
        end=iters)
    if not warmup:
        return [cosine]
    return [
        dict(
            type='LinearLR',
            start_factor=1e-3,
            by_epoch=False,
            begin=0,
            end=warmup), cosine
    ]


def finetune_schedule(epochs: int) -> List[dict]:
    """The fine-tuning config's schedule for ``epochs`` epochs: 20 warm-up
    iterations, x0.1 at 70 % and 90 % of the epochs."""
    return [
        dict(
            type='LinearLR',
            start_factor=0.01,
            by_epoch=False,
            begin=0,
            end=20),
        dict(
            type='MultiStepLR',
            by_epoch=True,
            begin=0,
            end=epochs,
            milestones=[max(1, epochs * 7 // 10),
                        max(1, epochs * 9 // 10)],
            gamma=0.1)
    ]


def run(cmd: List[str], log: str) -> float:
    """Run a stage, its output to ``log``; fail loudly with the log tail.

    Returns:
        float: The seconds it took.
    """
    start = time.time()
    env = dict(os.environ)
    env['PATH'] = osp.dirname(sys.executable) + os.pathsep + env['PATH']
    env['PYTHONPATH'] = ROOT + os.pathsep + env.get('PYTHONPATH', '')
    with open(log, 'a') as f:  # a resumed stage keeps the killed run's log
        proc = subprocess.run(
            cmd, cwd=ROOT, env=env, stdout=f, stderr=subprocess.STDOUT)
    if proc.returncode:
        with open(log) as f:
            tail = f.read()[-3000:]
        raise RuntimeError(f'{" ".join(cmd)} failed (log {log}):\n{tail}')
    return time.time() - start


def pretrain_iters(method: str, settings: Settings) -> int:
    """Iterations of ``method``: ``byol_flops`` gets BYOL the FLOPs of
    MCL's iterations."""
    if method == 'byol_flops':
        return int(round(settings.pretrain_iters * settings.flops_ratio))
    return settings.pretrain_iters


def pretrain_config(method: str, seed: int, settings: Settings) -> Config:
    """The pre-training config of ``method`` for one seed: its file in
    ``settings.configs``, else the named arm (:func:`arm_config`)."""
    iters = pretrain_iters(method, settings)
    if method in settings.configs:
        cfg = Config.fromfile(settings.configs[method])
    else:
        cfg = arm_config(method)
    cfg.train_cfg.max_iters = iters
    cfg.param_scheduler = pretrain_schedule(iters)
    cfg.default_hooks.checkpoint.interval = min(iters,
                                                PRETRAIN_CHECKPOINT_EVERY)
    cfg.train_dataloader.batch_size = settings.pretrain_batch
    cfg.train_dataloader.dataset.data_root = osp.join(
        osp.abspath(settings.data_dir), 'pretrain')
    cfg.randomness = dict(seed=seed)
    return cfg


def stage_dir(work_dir: str, stage: str, init: str, seed: int) -> str:
    """A stage's work dir: ``{stage}_{init}_seed{seed}`` (``stage``:
    ``pretrain`` or ``finetune``)."""
    return osp.join(work_dir, f'{stage}_{init}_seed{seed}')


def pretrain_checkpoint(method: str, settings: Settings, work_dir: str) -> str:
    """The last checkpoint of a pre-training: there once it finished."""
    return osp.join(work_dir, f'iter_{pretrain_iters(method, settings)}.pth')


def finetune_checkpoint(settings: Settings, work_dir: str) -> str:
    """The last checkpoint of a fine-tune: there once it finished."""
    return osp.join(work_dir, f'epoch_{settings.finetune_epochs}.pth')


def resume_where_stopped(cfg: Config, work_dir: str) -> Config:
    """``cfg`` resuming from the newest checkpoint in ``work_dir`` when a
    killed run left one (``last_checkpoint``: ``SafeCheckpointHook`` picks
    the newest readable file), else ``cfg`` as it is."""
    if osp.isfile(osp.join(work_dir, 'last_checkpoint')):
        cfg.resume = True
        cfg.load_from = None
        print(f'  resuming the stage in {work_dir}', flush=True)
    return cfg


def pretrain(method: str, seed: int, settings: Settings, work_dir: str) -> str:
    """Pre-train ``method`` (or reuse a finished run); its checkpoint."""
    iters = pretrain_iters(method, settings)
    ckpt = pretrain_checkpoint(method, settings, work_dir)
    if osp.isfile(ckpt):  # a re-run goes on where the last one stopped
        print(f'  reusing {ckpt}', flush=True)
        return ckpt
    os.makedirs(work_dir, exist_ok=True)
    path = osp.join(work_dir, 'config.py')
    resume_where_stopped(pretrain_config(method, seed, settings),
                         work_dir).dump(path)
    if settings.gpus > 1:
        cmd = [
            'bash',
            osp.join(ROOT, 'tools', 'dist_train.sh'), path,
            str(settings.gpus), '--work-dir', work_dir
        ]
    else:
        cmd = [
            sys.executable,
            osp.join(ROOT, 'tools', 'train.py'), path, '--work-dir', work_dir
        ]
    seconds = run(cmd, osp.join(work_dir, 'run.log'))
    print(
        f'  pre-trained {method} seed {seed}: {iters} iterations in '
        f'{seconds / 60:.1f} min',
        flush=True)
    return ckpt


def convert(method: str, ckpt: str, out: str) -> None:
    """MCL (any ``mcl*``): backbone, FPN and head convs (convert_mcl.py
    --to mmdet); BYOL: its online backbone."""
    if method.startswith('mcl'):
        run([
            sys.executable,
            osp.join(ROOT, 'tools', 'model_converters', 'convert_mcl.py'),
            ckpt, out, '--to', 'mmdet', '--config', FINETUNE
        ], out + '.log')
        return
    state = read_checkpoint(ckpt)
    backbone = {
        k: v
        for k, v in state['state_dict'].items() if k.startswith('backbone.')
    }
    torch.save(
        dict(state_dict=backbone, meta=dict(converted_from='BYOL')), out)


def finetune_config(seed: int, load_from: Optional[str],
                    settings: Settings) -> Config:
    """The fine-tuning config for one initialisation and seed."""
    epochs = settings.finetune_epochs
    cfg = Config.fromfile(FINETUNE)
    cfg.train_cfg.max_epochs = epochs
    cfg.train_cfg.val_begin = settings.val_begin
    cfg.param_scheduler = finetune_schedule(epochs)
    cfg.default_hooks.checkpoint.interval = 1
    data_root = osp.abspath(settings.data_dir) + '/'
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = data_root
    cfg.val_evaluator.ann_file = data_root + 'annotations/test.json'
    cfg.test_evaluator = cfg.val_evaluator
    cfg.load_from = load_from
    cfg.randomness = dict(seed=seed)
    return cfg


def finetune(init: str, seed: int, load_from: Optional[str],
             settings: Settings, work_dir: str) -> None:
    """Fine-tune Mask R-CNN from ``load_from`` (or reuse a finished run)."""
    epochs = settings.finetune_epochs
    if osp.isfile(finetune_checkpoint(settings, work_dir)):
        print(f'  reusing the finished fine-tune in {work_dir}', flush=True)
        return
    os.makedirs(work_dir, exist_ok=True)
    path = osp.join(work_dir, 'config.py')
    resume_where_stopped(finetune_config(seed, load_from, settings),
                         work_dir).dump(path)
    launcher = 'pytorch' if settings.gpus > 1 else 'none'
    seconds = run([
        'mim', 'train', 'mmdet', path, '--gpus',
        str(settings.gpus), '--launcher', launcher, '--work-dir', work_dir
    ], osp.join(work_dir, 'run.log'))
    print(
        f'  fine-tuned from {init} seed {seed}: {epochs} epochs in '
        f'{seconds / 60:.1f} min',
        flush=True)


def read_scalars(work_dir: str) -> List[dict]:
    """The rows of every mmengine ``scalars.json`` in ``work_dir``, oldest
    run first: a run resumed from a checkpoint logs the steps after it in a
    new timestamped folder, and a run started afresh logs every step again,
    so a later row of a step supersedes an earlier one.

    Raises:
        FileNotFoundError: If no run in ``work_dir`` logged scalars.
    """
    files = sorted(
        glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not files:
        raise FileNotFoundError(f'no scalars.json under {work_dir}')
    rows = []
    for path in files:
        with open(path) as f:
            rows.extend(json.loads(line) for line in f if line.strip())
    return rows


def read_curve(work_dir: str, epochs: int) -> Curve:
    """Test-split AP of every epoch that was evaluated, from mmengine's
    ``scalars.json`` (every run in ``work_dir``, see :func:`read_scalars`).

    A validation row is one without a learning rate (training rows log
    ``lr``); its ``step`` is the epoch. mmdet's CocoMetric logs no AP when
    the model detects nothing at all: such an evaluated epoch counts as AP
    0. The last training epoch must have been evaluated.

    Args:
        work_dir (str): The fine-tune's work dir.
        epochs (int): The number of training epochs.

    Returns:
        Curve: ``dict(epoch, bbox, segm)`` per evaluated epoch, in order,
        the last one being epoch ``epochs``.

    Raises:
        FileNotFoundError: If the run logged no scalars.
        ValueError: If the last epoch has no evaluation.
    """
    found = {}
    for row in read_scalars(work_dir):
        if 'lr' not in row:
            found[row['step']] = {
                name: 100 * row.get(key, 0.0)
                for name, key in CURVE_KEYS.items()
            }
    if epochs not in found:
        raise ValueError(
            f'{work_dir}: no evaluation of the last epoch ({epochs}) in the '
            f'scalars.json of its runs; evaluated epochs: {sorted(found)}')
    return [dict(epoch=e, **found[e]) for e in sorted(found) if e <= epochs]


def summarise(curves: Dict[str, Dict[int, Curve]]) -> dict:
    """Mean, sample standard deviation and values over the seeds of the
    last epoch's AP, per initialisation."""
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


def last_change(by_seed: Dict[int, Curve], key: str = 'bbox') -> dict:
    """Per seed, AP(last epoch) - AP(the evaluation before it): the
    convergence check of a fine-tune (random init: flattened when small).
    """
    return {
        seed: (curve[-1][key] - curve[-2][key]) if len(curve) > 1 else None
        for seed, curve in by_seed.items()
    }


def markdown(table: dict, seeds: List[int]) -> str:
    """The summary as a markdown table, and the ranking MCL > BYOL >
    random when the table has those three."""
    lines = [
        '| initialisation | bbox AP | segm AP | per seed (bbox) |',
        '| --- | --- | --- | --- |'
    ]
    for init, row in table.items():
        lines.append(
            f"| {init} | {row['bbox']['mean']:.1f} ± {row['bbox']['std']:.1f}"
            f" | {row['segm']['mean']:.1f} ± {row['segm']['std']:.1f} | " +
            ', '.join(f'{v:.1f}' for v in row['bbox']['values']) + ' |')
    lines.append('')
    line = f'seeds {seeds}; mean ± sample std.'
    if all(init in table for init in INITS):
        held = (
            table['mcl']['bbox']['mean'] > table['byol']['bbox']['mean'] >
            table['random']['bbox']['mean'])
        line += (' Ranking MCL > BYOL > random (bbox AP): '
                 f'{"held" if held else "did not hold"}.')
    lines.append(line)
    return '\n'.join(lines)


def plot(curves: Dict[str, Dict[int, Curve]], path: str) -> None:
    """Mean and range over the seeds of each initialisation's AP curve."""
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
            ax.fill_between(
                epochs, [min(v) for v in zip(*runs)],
                [max(v) for v in zip(*runs)],
                color=line.get_color(),
                alpha=0.2)
        ax.set_xlabel('fine-tuning epoch')
        ax.set_ylabel(f'{key} AP (test split)')
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle('Mask R-CNN R18-FPN-CONV on the copy-paste set: mean and '
                 'range over seeds')
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def probe_checkpoint(ckpt: str, settings: Settings) -> Dict[str, float]:
    """The dense probe of a pre-trained checkpoint on the test split (kept
    next to it as ``probe.json``, so a re-run reuses it)."""
    out = osp.join(osp.dirname(ckpt), 'probe.json')
    if osp.isfile(out):
        return read_probe(osp.dirname(ckpt))
    from mcl_mm.evaluation.dense_probe import ProbeSet, dense_probe
    from mcl_mm.evaluation.probe_model import probe_net_from_file
    data = osp.abspath(settings.data_dir)
    probe = ProbeSet(
        osp.join(data, 'annotations', 'test.json'),
        osp.join(data, 'test'),
        size=96)
    net, _ = probe_net_from_file(ckpt)
    result = dense_probe(net, probe)
    with open(out, 'w') as f:
        json.dump(result, f)
    return result


def methods(settings: Settings) -> List[str]:
    """The pre-trained initialisations of a run."""
    if settings.arms is not None:
        unknown = [
            a for a in settings.arms
            if a != 'random' and a not in ARMS and a not in settings.configs
        ]
        if unknown:
            raise ValueError(f'arms {unknown} have no config; named arms: '
                             f'{sorted(ARMS)} (others: NAME=CONFIG)')
        return [a for a in settings.arms if a != 'random']
    known = sorted(set(ARMS) - {'mcl', 'byol', 'byol_flops'})
    unknown = sorted(set(settings.ablations) - set(known))
    if unknown:
        raise ValueError(f'unknown ablations {unknown}; known: {known}')
    return (['mcl', 'byol'] +
            (['byol_flops'] if settings.flops_ratio else []) +
            list(settings.ablations))


def initialisations(settings: Settings) -> List[str]:
    """Every fine-tuned initialisation: :func:`methods` and random init."""
    if settings.arms is not None and 'random' not in settings.arms:
        return methods(settings)
    return methods(settings) + ['random']


def read_probe(work_dir: str) -> Dict[str, float]:
    """The probe a pre-training's work dir keeps (``probe.json``).

    Raises:
        FileNotFoundError: Naming the file, when the probe did not run.
    """
    path = osp.join(work_dir, 'probe.json')
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: this pre-training was not probed; '
                                'run the stage (without --collect-only)')
    with open(path) as f:
        return json.load(f)


# the small files a stage's results live in (what --collect-only reads,
# plus the pre-training's own log of losses and collapse metrics)
RESULT_FILES = ('probe.json', '*/vis_data/scalars.json')


def finished_stages(settings: Settings, work_dir: str) -> List[str]:
    """The stage work dirs (relative) whose run finished: those holding the
    checkpoint a re-run would reuse."""
    done = []
    for seed in settings.seeds:
        for method in methods(settings):
            wd = stage_dir(work_dir, 'pretrain', method, seed)
            if osp.isfile(pretrain_checkpoint(method, settings, wd)):
                done.append(osp.relpath(wd, work_dir))
        for init in initialisations(settings):
            wd = stage_dir(work_dir, 'finetune', init, seed)
            if osp.isfile(finetune_checkpoint(settings, wd)):
                done.append(osp.relpath(wd, work_dir))
    return done


def export_results(settings: Settings, work_dir: str,
                   out_dir: str) -> List[str]:
    """Copy the result files of the finished stages of ``work_dir`` to
    ``out_dir`` (same layout, no checkpoint; a stage still running is left
    out): a folder small enough to commit, which ``run_all(...,
    collect_only=True)`` summarises.

    Returns:
        List[str]: The copied files, relative to ``out_dir``.
    """
    copied = []
    for stage in finished_stages(settings, work_dir):
        for pattern in RESULT_FILES:
            for path in sorted(glob.glob(osp.join(work_dir, stage, pattern))):
                rel = osp.relpath(path, work_dir)
                os.makedirs(osp.dirname(osp.join(out_dir, rel)), exist_ok=True)
                shutil.copyfile(path, osp.join(out_dir, rel))
                copied.append(rel)
    return copied


def run_all(settings: Settings,
            work_dir: str,
            collect_only: bool = False) -> Dict[str, dict]:
    """Every stage for every seed (finished ones reused), then the summary.

    Args:
        settings (Settings): The run.
        work_dir (str): Where every stage keeps its work dir.
        collect_only (bool): Run nothing; read the results the finished
            stages keep (fine-tune ``scalars.json``, ``probe.json``), e.g.
            after the seeds ran as separate processes, or once their
            checkpoints are deleted.

    Returns:
        Dict[str, dict]: ``table`` (see :func:`summarise`), ``curves`` and
        ``per_seed`` (evidence metric -> init -> value per seed, in seed
        order; the probe's ``dense_probe_<metric>`` with ``probe``).
    """
    inits = initialisations(settings)
    curves: Dict[str, Dict[int, Curve]] = {i: {} for i in inits}
    probes: Dict[str, Dict[str, List[float]]] = {}
    for seed in settings.seeds:
        print(f'seed {seed}', flush=True)
        for init in inits:  # each arm's pre-training, then its fine-tune
            load_from = None
            if init != 'random':
                wd = stage_dir(work_dir, 'pretrain', init, seed)
                if not collect_only:
                    ckpt = pretrain(init, seed, settings, wd)
                    load_from = osp.join(wd, f'{init}_for_mmdet.pth')
                    convert(init, ckpt, load_from)
                values = last_collapse_metrics(wd)
                if settings.probe:
                    probe = (
                        read_probe(wd) if collect_only else probe_checkpoint(
                            ckpt, settings))
                    values.update({
                        f'dense_probe_{k}': v
                        for k, v in probe.items()
                    })
                for k, v in values.items():
                    probes.setdefault(k, {}).setdefault(init, []).append(v)
            wd = stage_dir(work_dir, 'finetune', init, seed)
            if not collect_only:
                finetune(init, seed, load_from, settings, wd)
            curves[init][seed] = read_curve(wd, settings.finetune_epochs)
    per_seed = {
        metric: {
            init: [by_seed[s][-1][entry] for s in settings.seeds]
            for init, by_seed in curves.items()
        }
        for metric, entry in EVIDENCE_METRICS.items()
    }
    # metrics some seeds lack (a pre-training logged before they existed)
    # are left out for that arm: the design is paired
    per_seed.update({
        metric: {
            init: values
            for init, values in by_init.items()
            if len(values) == len(settings.seeds)
        }
        for metric, by_init in probes.items()
    })
    return dict(table=summarise(curves), curves=curves, per_seed=per_seed)


def last_collapse_metrics(work_dir: str) -> Dict[str, float]:
    """The per-level ``std_l*`` / ``erank_l*`` a pre-training logged at its
    last training step (every run in ``work_dir``, see
    :func:`read_scalars`); empty when it logged none (BYOL, or no log)."""
    found: Dict[str, float] = {}
    try:
        rows = read_scalars(work_dir)
    except FileNotFoundError:
        return found
    last = max((r['step'] for r in rows if 'lr' in r), default=None)
    for row in rows:
        if row.get('step') == last:
            found.update({
                k: v
                for k, v in row.items() if k.startswith(('std_l', 'erank_l'))
            })
    return found
