# Copyright (c) mcl_mm contributors. All rights reserved.
"""Decode every image of a training set (or a folder) before a long job.

Prints the unreadable files with the reason, and how many images are
greyscale, 16-bit, CMYK, with alpha, palette-based, smaller than the largest
tile, or of an extreme aspect ratio (> 4:1). Exit code 1 if any file is
unreadable. The command line of :mod:`mcl_mm.datasets.dataset_check`.

Examples::

    python tools/analysis_tools/check_dataset.py \\
        configs/mcl/mcl_r50-fpn_32xb128-amp-coslr-100e_in1k.py --workers 16
    python tools/analysis_tools/check_dataset.py data/demo
"""
import argparse
import sys

from mcl_mm.datasets.dataset_check import check_images, dataset_files, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('target', help='a config file or an image folder')
    parser.add_argument(
        '--workers', type=int, default=4, help='decoding processes')
    args = parser.parse_args()
    paths, left_out, min_side = dataset_files(args.target)
    reports = check_images(paths, args.workers, min_side)
    print(summary(reports, left_out, min_side))
    sys.exit(1 if any(r['error'] for r in reports) else 0)


if __name__ == '__main__':
    main()
