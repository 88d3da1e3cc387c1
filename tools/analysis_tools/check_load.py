# Copyright (c) mcl_mm contributors. All rights reserved.
"""Check, before a long fine-tune, which weights a config takes from CKPT.

Builds the config's model (mmdet, mmseg or mmpretrain), maps CKPT's keys as
the config would load them (``load_from``, or the backbone's ``init_cfg``
with its prefix) and prints, per group of the model, how many tensors
receive weights, the shape mismatches and a deep-stem / plain-stem ResNet
mismatch. Exit code 1 when the backbone is not fully covered. The command
line of :func:`mcl_mm.converters.load_report.check_load`.

Example::

    # CONFIG: e.g. configs/benchmarks/mmdetection/
    #         mask-rcnn_r50-fpn-conv_syncbn_1x_coco.py
    python tools/analysis_tools/check_load.py CONFIG mcl_mmdet.pth
"""
import argparse
import sys

from mcl_mm.converters.checkpoint_file import CheckpointReadError
from mcl_mm.converters.load_report import check_load, problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='downstream config')
    parser.add_argument('checkpoint', help='checkpoint it would load')
    args = parser.parse_args()
    try:
        report, how = check_load(args.config, args.checkpoint)
    except CheckpointReadError as err:
        parser.exit(1, f'error: {err}\n')
    print(f'{args.checkpoint} loads through {how}')
    print(report.format())
    found = problems(report)
    for problem in found:
        print(f'problem: {problem}')
    sys.exit(1 if found else 0)


if __name__ == '__main__':
    main()
