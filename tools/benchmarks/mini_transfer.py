# Copyright (c) mcl_mm contributors. All rights reserved.
"""Small-scale evidence: MCL vs BYOL vs random init, transferred to Mask R-CNN.

On the copy-paste set of real photographs (tools/prepare_paste_data.py),
for every seed: pre-train MCL and mmpretrain's BYOL with the same backbone
(R18), resolution, data, batch, optimiser and iterations; fine-tune the
same Mask R-CNN R18-FPN-CONV from each checkpoint and from random init;
then print bbox / segm AP of the last epoch on the held-out test split (mean
and spread over the seeds), write ``results.json``, ``results.md`` and a
plot of the fine-tuning AP curves ``curves.png`` under the work dir, and
``evidence.json`` (per-seed AP, AP75, AP_small, probe metrics and the paired
differences MCL - BYOL / MCL - random with 95 % t intervals) with its plot
``paired.png``. The
stages are :mod:`benchmarks.mini_transfer`, the pre-trained arms the table
of :mod:`benchmarks.mini_transfer_arms`; finished ones are reused.

Example (the default size; the time it took is in docs/en/evidence.md)::

    python tools/benchmarks/mini_transfer.py --work-dir work_dirs/mini_transfer

On GPUs, scale it up by flags, e.g. ``--gpus 1 --pretrain-iters 5000
--pretrain-batch 64 --num-pretrain 20000 --num-train 2000
--finetune-epochs 24``.
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

# benchmarks/ (the repository's measurements) is not installed with
# mcl_mm: import it from the checkout this script runs in
sys.path.insert(0,
                osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from benchmarks.mini_transfer import (Settings, export_results, last_change,
                                      markdown, plot, run_all)
from benchmarks.paired_stats import (evidence_results, paired_markdown,
                                     parse_pairs, plot_paired)


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
    parser.add_argument(
        '--val-begin',
        type=int,
        default=1,
        help='first fine-tuning epoch evaluated (then every 2nd and the '
        'last)')
    parser.add_argument('--num-pretrain', type=int, default=512)
    parser.add_argument('--num-train', type=int, default=64)
    parser.add_argument('--num-test', type=int, default=32)
    parser.add_argument(
        '--gpus', type=int, default=0, help='GPUs per run (0: CPU)')
    parser.add_argument(
        '--equal-flops',
        type=float,
        metavar='RATIO',
        help='also pre-train BYOL for RATIO x the iterations (equal FLOPs; '
        '1.332 measured by benchmark.py)')
    parser.add_argument(
        '--ablations',
        nargs='+',
        default=[],
        help='more pre-trained initialisations, e.g. mcl_s1 (MCL with one '
        'level, no montage)')
    parser.add_argument(
        '--arms',
        nargs='+',
        metavar='NAME[=CONFIG]',
        help='exactly the initialisations to run or collect, in order '
        '(instead of mcl, byol, byol_flops, --ablations and random): named '
        'arms (mcl_s3, byol, random, ...) or NAME=CONFIG for any other '
        'pre-training config')
    parser.add_argument(
        '--pairs',
        nargs='+',
        metavar='LEFT-RIGHT',
        default=[
            'mcl-byol', 'mcl-byol_flops', 'mcl-random', 'mcl-mcl_s1',
            'mcl_s1-byol'
        ],
        help='the paired differences to report (those whose arms ran)')
    parser.add_argument(
        '--collect-only',
        action='store_true',
        help='run nothing: summarise the finished stages of the work dir '
        '(e.g. seeds run as separate processes)')
    parser.add_argument(
        '--export',
        metavar='DIR',
        help='also copy the finished stages\' result files (no '
        'checkpoints) to DIR, which --collect-only --work-dir DIR reads')
    parser.add_argument(
        '--summary-dir',
        metavar='DIR',
        help='where results.json, evidence.json, results.md and the plots '
        'go (default: the work dir)')
    parser.add_argument(
        '--probe',
        action='store_true',
        help='dense-probe every pre-trained checkpoint on the test split')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    start = time.time()
    work_dir = osp.abspath(args.work_dir)
    out_dir = osp.abspath(args.summary_dir or work_dir)
    os.makedirs(work_dir, exist_ok=True)
    os.makedirs(out_dir, exist_ok=True)
    if not osp.isfile(osp.join(args.data_dir, 'annotations', 'test.json')):
        from benchmarks.paste_data import make_paste_dataset
        make_paste_dataset(args.data_dir, args.num_pretrain, args.num_train,
                           args.num_test)
    parse_pairs(args.pairs)  # a malformed pair fails before any stage runs
    arms = None if args.arms is None else [a.split('=')[0] for a in args.arms]
    configs = dict(a.split('=', 1) for a in args.arms or [] if '=' in a)
    settings = Settings(
        data_dir=args.data_dir,
        seeds=args.seeds,
        pretrain_iters=args.pretrain_iters,
        pretrain_batch=args.pretrain_batch,
        finetune_epochs=args.finetune_epochs,
        gpus=args.gpus,
        flops_ratio=args.equal_flops,
        probe=args.probe,
        ablations=args.ablations,
        val_begin=args.val_begin,
        arms=arms,
        configs=configs)
    try:
        results = run_all(settings, work_dir, args.collect_only)
    finally:  # what finished is kept, also when a stage failed
        if args.export:
            files = export_results(settings, work_dir, args.export)
            print(f'{len(files)} result files copied to {args.export}')
    text = markdown(results['table'], args.seeds)
    with open(osp.join(out_dir, 'results.json'), 'w') as f:
        json.dump(
            dict(results, args=vars(args), minutes=(time.time() - start) / 60),
            f,
            indent=1)
    # the paired evidence (95 % t intervals over seeds of the per-seed
    # differences), docs/evidence/results.json's schema
    change = last_change(results['curves'].get('random', {}))
    evidence = evidence_results(
        args.seeds, results['per_seed'],
        dict(
            vars(args),
            command=' '.join(sys.argv),
            interval='95 % t interval over seeds of the paired differences',
            converged='random init: |bbox AP(last) - AP(last evaluated '
            'before)| < 1 for every seed',
            random_init_last_change_bbox_AP=change), args.pairs)
    with open(osp.join(out_dir, 'evidence.json'), 'w') as f:
        json.dump(evidence, f, indent=1)
    if evidence['paired']:
        shown = [
            'bbox_AP', 'segm_AP', 'bbox_AP75', 'bbox_AP_s',
            'dense_probe_miou_c5'
        ]
        # the pre-trainings' last per-level collapse metrics: table only
        collapse = sorted(m for m in evidence['per_seed']
                          if m.startswith(('std_l', 'erank_l')))
        plot_paired(evidence, shown, osp.join(out_dir, 'paired.png'))
        text += ('\n\nPaired differences (mean [95 % t interval] over '
                 f'seeds {args.seeds}):\n\n' +
                 paired_markdown(evidence, shown + collapse))
    with open(osp.join(out_dir, 'results.md'), 'w') as f:
        f.write(text + '\n')
    plot(results['curves'], osp.join(out_dir, 'curves.png'))
    print(text)
    print('random init, bbox AP change over the last evaluation interval per '
          f'seed: {change}')
    print(f'total {(time.time() - start) / 60:.1f} min; results, curves.png '
          f'in {out_dir}')


if __name__ == '__main__':
    main()
