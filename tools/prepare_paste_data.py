# Copyright (c) mcl_mm contributors. All rights reserved.
"""Write the copy-paste detection set (real coins on real photos): the
unlabelled pre-training images and COCO train / held-out test splits."""
import argparse
import json
import os.path as osp
import sys

# benchmarks/ (the repository's measurements) is not installed with
# mcl_mm: import it from the checkout this script runs in
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from benchmarks.paste_data import make_paste_dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('out', nargs='?', default='data/paste')
    parser.add_argument('--num-pretrain', type=int, default=512)
    parser.add_argument('--num-train', type=int, default=64)
    parser.add_argument('--num-test', type=int, default=32)
    parser.add_argument('--size', type=int, default=256)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    paths = make_paste_dataset(args.out, args.num_pretrain, args.num_train,
                               args.num_test, args.size, args.seed)
    for split in ('train', 'test'):
        with open(paths[f'{split}_ann']) as f:
            coco = json.load(f)
        print(f"{split}: {len(coco['images'])} images, "
              f"{len(coco['annotations'])} coins with boxes and masks")
    print(f'pretrain: {args.num_pretrain} unlabelled images in {args.out}')


if __name__ == '__main__':
    main()
