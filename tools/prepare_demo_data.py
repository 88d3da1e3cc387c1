# Copyright (c) mcl_mm contributors. All rights reserved.
"""Copy the real photographs bundled with scikit-image into a folder.

They are BSD-3-Clause (see ``skimage/data/README.txt`` in the installed
scikit-image). The demo trains on them through mmpretrain's CustomDataset.
"""
import argparse
import os.path as osp
import sys

# benchmarks/ (the repository's measurements) is not installed with
# mcl_mm: import it from the checkout this script runs in
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from benchmarks.demo_data import copy_photos


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        'out',
        nargs='?',
        default='data/demo',
        help='folder to fill (default: data/demo)')
    args = parser.parse_args()
    print(f'{len(copy_photos(args.out))} photographs from scikit-image in '
          f'{args.out}')


if __name__ == '__main__':
    main()
