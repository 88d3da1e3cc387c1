# Copyright (c) mcl_mm contributors. All rights reserved.
"""Strip a training checkpoint for release, as OpenMMLab publishes models.

Keeps the online weights and ``meta`` (config text, epoch, iteration); drops
the optimizer, the schedulers, the message hub and the EMA target network,
and names the file ``{out_stem}-{sha256[:8]}.pth``.
"""
import argparse
import hashlib
import os
import os.path as osp

import torch

import mcl_mm  # noqa: F401  (mmengine checkpoints load with weights_only)

DROPPED_PREFIXES = ('target_net.', )


def publish(src: str, out: str) -> str:
    """Write the stripped checkpoint and return its final path."""
    ckpt = torch.load(src, map_location='cpu', weights_only=True)
    if not isinstance(ckpt, dict) or 'state_dict' not in ckpt:
        raise ValueError(f'{src}: expected an mmengine checkpoint with a '
                         f'state_dict, got keys {list(ckpt)[:5]}')
    state = {
        k: v for k, v in ckpt['state_dict'].items()
        if not k.startswith(DROPPED_PREFIXES)
    }
    meta = {k: v for k, v in ckpt.get('meta', {}).items()
            if isinstance(v, (str, int, float, bool))}
    stem = out[:-4] if out.endswith('.pth') else out
    tmp = stem + '.tmp.pth'
    torch.save(dict(state_dict=state, meta=meta), tmp)
    with open(tmp, 'rb') as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    final = f'{stem}-{sha[:8]}.pth'
    os.replace(tmp, final)
    return final


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='training checkpoint')
    parser.add_argument('out', help='output path; the hash is appended')
    args = parser.parse_args()
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    print(f'published {publish(args.src, args.out)}')


if __name__ == '__main__':
    main()
