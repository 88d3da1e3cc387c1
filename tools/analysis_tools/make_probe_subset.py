# Copyright (c) mcl_mm contributors. All rights reserved.
"""Write a small COCO subset (the first N images with instances) for the
dense probe, e.g. 200 images of val2017.

Example::

    python tools/analysis_tools/make_probe_subset.py \\
        data/coco/annotations/instances_val2017.json \\
        data/coco/annotations/instances_val2017_probe200.json --num 200
"""
import argparse
import json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='COCO instances json')
    parser.add_argument('out', help='subset json to write')
    parser.add_argument('--num', type=int, default=200)
    args = parser.parse_args()
    with open(args.src) as f:
        coco = json.load(f)
    with_instances = {
        a['image_id']
        for a in coco['annotations'] if not a.get('iscrowd', 0)
    }
    images = [i for i in coco['images'] if i['id'] in with_instances]
    images = sorted(images, key=lambda i: i['id'])[:args.num]
    keep = {i['id'] for i in images}
    coco['images'] = images
    coco['annotations'] = [
        a for a in coco['annotations'] if a['image_id'] in keep
    ]
    with open(args.out, 'w') as f:
        json.dump(coco, f)
    print(f'{len(images)} images, {len(coco["annotations"])} instances: '
          f'{args.out}')


if __name__ == '__main__':
    main()
