# Copyright (c) mcl_mm contributors. All rights reserved.
"""Convert a self-supervised checkpoint for fine-tuning or pre-training.

The command line of :func:`mcl_mm.converters.conversion.convert_file`. The
source format is found from the keys (``--from`` forces one):

  mcl_mm        this package's MCL checkpoints
  mcl-authors   the MCL authors' OpenSelfSup checkpoints (encoder_q/_k)
  soco          SoCo's raw checkpoints (module.encoder/neck/head)
  detectron2    detectron2 .pkl files (the MCL authors', SoCo's, ours)
  backbone      a ResNet alone: DenseCL, PixPro, MoCo v2, BYOL in their
                OpenSelfSup / mmselfsup / mmpretrain layouts, torchvision

Targets:
  mmdet            Mask R-CNN R50-FPN-CONV (or Swin-T FPN-CONV): backbone,
                   FPN (start at C2), the 4 head convs as
                   roi_head.bbox_head.shared_convs (and SoCo's fc1 as
                   shared_fcs.0)
  mmdet-retinanet  backbone and FPN (start at C3); no box head
  mmdet-c4         Mask R-CNN R50-C4: stages 1-3 in backbone, res5 (the
                   C4 variant's tile head, else stage 4) in
                   roi_head.shared_head.layer4
  mmseg            backbone
  torchvision      a torchvision ResNet state dict (no fc)
  detectron2       a detectron2 .pkl (backbone, FPN, box-head convs)
  mcl              an mcl_mm R50-FPN S=4 MCL checkpoint (online, EMA
                   target, predictors) that continues pre-training

After converting, a report counts per group of the target architecture
(the target's benchmark config, or --config) the tensors that received
weights, and lists what the source held that was dropped. A backbone not
fully covered, a shape mismatch or a stem of the other kind (--to mcl:
any gap) stops with exit code 1 unless --allow-partial.

Examples::

    python tools/model_converters/convert_mcl.py work_dirs/demo/iter_100.pth \\
        work_dirs/demo/mcl_mmdet.pth --to mmdet
    python tools/model_converters/convert_mcl.py mcl_authors.pth \\
        mcl_mm_r50.pth --to mcl
"""
import argparse

from mcl_mm.converters.conversion import TARGETS, convert_file
from mcl_mm.converters.sources import SOURCES


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(__doc__.splitlines()[2:]))
    parser.add_argument('src', help='checkpoint to convert')
    parser.add_argument('dst', help='output file')
    parser.add_argument('--to', choices=sorted(TARGETS), default='mmdet')
    parser.add_argument(
        '--from',
        dest='source',
        choices=sorted(SOURCES),
        help='source format (default: found from the keys)')
    parser.add_argument(
        '--config',
        help='downstream config whose model is the target (default: the '
        "target's benchmark config)")
    parser.add_argument(
        '--allow-partial',
        action='store_true',
        help='write the file even if the backbone is not fully covered')
    args = parser.parse_args()
    try:
        report = convert_file(args.src, args.dst, args.to, args.source,
                              args.config, args.allow_partial)
    except ValueError as err:
        parser.exit(1, f'error: {err}\n')
    print(report.format())
    print(f'wrote {args.dst} ({args.to})')


if __name__ == '__main__':
    main()
