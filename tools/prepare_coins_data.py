# Copyright (c) mcl_mm contributors. All rights reserved.
"""Write the tiny coins detection / segmentation set (COCO + label maps)."""
import argparse
import json

from mcl_mm.utils.coins_data import make_coins_dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('out', nargs='?', default='data/coins')
    args = parser.parse_args()
    paths = make_coins_dataset(args.out)
    with open(paths['ann_file']) as f:
        coco = json.load(f)
    print(f"{len(coco['images'])} images, {len(coco['annotations'])} coins "
          f'with boxes and masks in {args.out}')


if __name__ == '__main__':
    main()
