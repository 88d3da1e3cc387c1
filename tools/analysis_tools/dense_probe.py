# Copyright (c) mcl_mm contributors. All rights reserved.
"""Dense probe of checkpoints: frozen features, linear mIoU, box kNN.

Any checkpoint ``convert_mcl.py`` reads (MCL, BYOL, SS-PRL, MaskCo of this
package; the MCL authors', SoCo, detectron2, backbone-only files): its
ResNet (and FPN, where it has one) is rebuilt from the weights and probed
on a COCO-format set (:func:`mcl_mm.evaluation.dense_probe`); one row per
checkpoint. Backbone-only checkpoints are probed on the last stage (c5).

Example::

    python tools/prepare_coins_data.py data/coins
    python tools/analysis_tools/dense_probe.py work_dirs/demo/iter_100.pth \\
        byol.pth --ann-file data/coins/annotations/coins.json \\
        --img-dir data/coins/images --size 96
"""
import argparse

from mcl_mm.converters.checkpoint_file import CheckpointReadError
from mcl_mm.evaluation.dense_probe import ProbeSet, dense_probe
from mcl_mm.evaluation.probe_model import probe_net_from_file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('checkpoints', nargs='+')
    parser.add_argument('--ann-file', required=True, help='COCO json')
    parser.add_argument('--img-dir', required=True)
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument(
        '--steps',
        type=int,
        default=200,
        help='optimiser steps of each linear probe')
    args = parser.parse_args()
    try:  # read every checkpoint before the probing starts
        nets = [probe_net_from_file(path) for path in args.checkpoints]
    except CheckpointReadError as err:
        parser.exit(1, f'error: {err}\n')
    probe = ProbeSet(args.ann_file, args.img_dir, args.size)
    rows = []
    for path, (net, source) in zip(args.checkpoints, nets):
        rows.append((path, source, dense_probe(net, probe, args.steps)))
    keys = sorted({k for _, _, r in rows for k in r})
    print('| checkpoint | format | ' + ' | '.join(keys) + ' |')
    print('| --- ' * (len(keys) + 2) + '|')
    for path, source, result in rows:
        cells = [f'{result[k]:.4f}' if k in result else '-' for k in keys]
        print(f'| {path} | {source} | ' + ' | '.join(cells) + ' |')


if __name__ == '__main__':
    main()
