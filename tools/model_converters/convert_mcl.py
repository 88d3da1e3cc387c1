# Copyright (c) mcl_mm contributors. All rights reserved.
"""Convert an MCL checkpoint (online network) for downstream fine-tuning.

Targets:
  mmdet            Mask R-CNN R50-FPN-CONV (or Swin-T FPN-CONV): backbone,
                   FPN (start at C2) and the 4 tile-head convs as
                   roi_head.bbox_head.shared_convs
  mmdet-retinanet  backbone and FPN (start at C3); no box head
  mmdet-c4         Mask R-CNN R50-C4: stages 1-3 in backbone, res5 (the
                   C4 variant's tile head, else stage 4) in
                   roi_head.shared_head.layer4
  mmseg            backbone
  torchvision      a torchvision ResNet state dict (no fc)
  detectron2       a detectron2 .pkl (backbone, FPN, box-head convs)

mmdet-c4, mmseg and torchvision need only a backbone, so they also convert
other self-supervised checkpoints of this package (e.g. MaskCo's).

Example::

    python tools/model_converters/convert_mcl.py work_dirs/demo/iter_100.pth \\
        work_dirs/demo/mcl_mmdet.pth --to mmdet
"""
import argparse
import pickle
from functools import partial

import torch

from mcl_mm.converters import (REQUIRED, load_mcl_state, to_detectron2,
                               to_mmdet, to_mmseg, to_torchvision)


def save_openmmlab(state: dict, path: str) -> None:
    """An OpenMMLab checkpoint: load_from / init_cfg Pretrained read it."""
    torch.save(dict(state_dict=state, meta=dict(converted_from='MCL')), path)


def save_pickle(obj: dict, path: str) -> None:
    with open(path, 'wb') as f:
        pickle.dump(obj, f)


# target -> (conversion, writer)
TARGETS = {
    'mmdet': (partial(to_mmdet, fpn_start_level=0), save_openmmlab),
    'mmdet-retinanet':
    (partial(to_mmdet, fpn_start_level=1,
             with_box_head=False), save_openmmlab),
    'mmdet-c4': (partial(to_mmdet, c4=True), save_openmmlab),
    'mmseg': (to_mmseg, save_openmmlab),
    'torchvision': (to_torchvision, torch.save),
    'detectron2': (to_detectron2, save_pickle),
}

NEEDS_MCL = ('mmdet', 'mmdet-retinanet', 'detectron2')


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(__doc__.splitlines()[2:]))
    parser.add_argument('src', help='MCL checkpoint')
    parser.add_argument('dst', help='output file')
    parser.add_argument('--to', choices=sorted(TARGETS), default='mmdet')
    args = parser.parse_args()
    # backbone-only targets also take other self-supervised checkpoints
    # (e.g. MaskCo's)
    required = REQUIRED if args.to in NEEDS_MCL else ('backbone.', )
    try:
        state = load_mcl_state(args.src, required)
    except ValueError as err:
        parser.exit(2, f'error: {err}\n')
    convert, write = TARGETS[args.to]
    converted, groups = convert(state)
    write(converted, args.dst)
    for group, count in groups.items():
        print(f'{group}: {count} tensors')
    print(f'wrote {args.dst} ({args.to})')


if __name__ == '__main__':
    main()
