# Copyright (c) mcl_mm contributors. All rights reserved.
"""Train with mmpretrain's own ``tools/train.py``, mcl_mm registered.

Same flags as mmpretrain's (``--work-dir``, ``--resume [CKPT]``, ``--amp``,
``--auto-scale-lr``, ``--cfg-options``, ``--launcher``...), because it *is*
mmpretrain's script (shipped in its package as ``.mim/tools/train.py``, the
file ``mim train mmpretrain`` runs): this wrapper only imports mcl_mm first,
so configs without ``custom_imports`` work too, and lets
``--launcher pytorch`` run DDP on machines without GPUs (gloo backend, CPU
model wrapper), where mmengine 0.10.7 would call ``torch.cuda.set_device``,
and ends a ``--resume`` that cannot start (``SafeCheckpointHook``: the
checkpoint cannot be read) with one line naming the files. ``--amp`` with a
config that sets its own mixed precision (``MixedPrecisionOptimWrapper``,
the GPU configs) is left out, with a line saying so: mmpretrain's script
would replace that wrapper with mmengine's ``AmpOptimWrapper``.
"""
import argparse
import os.path as osp
import runpy
import sys

import torch

import mcl_mm  # noqa: F401  (registers mcl_mm's components)
import mmpretrain
from mcl_mm.engine.hooks import ResumeError

CPU_DDP_OPTIONS = [
    'env_cfg.dist_cfg.backend=gloo',
    'model_wrapper_cfg.type=MMDistributedDataParallel',
    'model_wrapper_cfg.device_ids=None',
]


def prepare_cpu_ddp(argv: list) -> list:
    """Start the gloo process group and add the CPU DDP options to argv
    when ``--launcher pytorch`` runs without CUDA; else return argv."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument('--launcher', default='none')
    launcher = parser.parse_known_args(argv[1:])[0].launcher
    if launcher != 'pytorch' or torch.cuda.is_available():
        return argv
    torch.distributed.init_process_group(backend='gloo')
    argv = list(argv)
    if '--cfg-options' in argv:
        at = argv.index('--cfg-options') + 1
        argv[at:at] = CPU_DDP_OPTIONS
    else:
        argv += ['--cfg-options', *CPU_DDP_OPTIONS]
    return argv


def drop_redundant_amp(argv: list) -> list:
    """argv without ``--amp`` when the config already trains in mixed
    precision (``MixedPrecisionOptimWrapper``); else argv."""
    if '--amp' not in argv or len(argv) < 2:
        return argv
    from mmengine.config import Config
    wrapper = Config.fromfile(argv[1]).get('optim_wrapper', {})
    if wrapper.get('type') != 'MixedPrecisionOptimWrapper':
        return argv
    print(
        f'--amp left out: {argv[1]} trains in mixed precision already '
        f"(MixedPrecisionOptimWrapper, dtype={wrapper.get('dtype', 'auto')})")
    return [a for a in argv if a != '--amp']


if __name__ == '__main__':
    script = osp.join(
        osp.dirname(mmpretrain.__file__), '.mim', 'tools', 'train.py')
    if not osp.isfile(script):
        raise FileNotFoundError(
            f'mmpretrain ships no training script at {script}; install '
            'mmpretrain from its wheel (pip install mmpretrain==1.2.0)')
    sys.argv = prepare_cpu_ddp(drop_redundant_amp(sys.argv))
    try:
        runpy.run_path(script, run_name='__main__')
    except ResumeError as err:
        sys.exit(f'error: {err}')
