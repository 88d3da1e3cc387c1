# Copyright (c) mcl_mm contributors. All rights reserved.
"""Strip a training checkpoint for release, as OpenMMLab publishes models.

The command line of :func:`mcl_mm.converters.publish.publish`.

Keeps the online weights and ``meta`` (config text, epoch, iteration); drops
the optimizer, the schedulers, the message hub and the EMA target (MCL) or
momentum key network (MaskCo),
and names the file ``{out_stem}-{sha256[:8]}.pth``.
"""
import argparse
import os
import os.path as osp

from mcl_mm.converters.publish import publish


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='training checkpoint')
    parser.add_argument('out', help='output path; the hash is appended')
    args = parser.parse_args()
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    try:
        final = publish(args.src, args.out)
    except ValueError as err:  # names the file: unreadable, refused, wrong
        parser.exit(1, f'error: {err}\n')
    print(f'published {final}')


if __name__ == '__main__':
    main()
