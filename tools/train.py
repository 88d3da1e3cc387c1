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
would replace that wrapper with mmengine's ``AmpOptimWrapper``. When a
rank of a distributed run dies, the others stop at their next collective
(at the latest after the process group's timeout, ``env_cfg.dist_cfg.
timeout``) with one line naming the lost ranks. When mmpretrain's
optional multimodal models fail to import beside an incompatible
transformers (``import mcl_mm`` turns them off for the ones it recognises),
the run ends with one line naming the cause and the fix.
"""
import argparse
import datetime
import functools
import os.path as osp
import re
import runpy
import sys
import time
import traceback
from importlib.metadata import PackageNotFoundError, version
from typing import Optional

import torch
from mmengine.config import Config

#: Where mmpretrain's optional multimodal models live.
MULTIMODAL_DIR = osp.join('mmpretrain', 'models', 'multimodal', '')


def multimodal_import_error(err: BaseException) -> Optional[str]:
    """The line naming cause and fix when ``err`` was raised while
    mmpretrain's optional multimodal models were imported (they import
    transformers, and mmpretrain 1.2.0 imports them beside any
    ``transformers>=4.28``); None for any other error.

    Args:
        err (BaseException): The error.

    Returns:
        str | None: The line, or None.
    """
    files = [
        frame.f_code.co_filename
        for frame, _ in traceback.walk_tb(err.__traceback__)
    ]
    if not any(MULTIMODAL_DIR in f for f in files):
        return None
    try:
        transformers = f'transformers {version("transformers")}'
    except PackageNotFoundError:
        transformers = 'the installed transformers'
    first = f'{type(err).__name__}: {err}'.strip().splitlines()[0][:200]
    return (f"error: mmpretrain's multimodal models do not import with "
            f'{transformers} ({first}); mcl_mm does not use them: install '
            'one they import with (pip install "transformers<5") or '
            'uninstall transformers')


try:
    import mcl_mm  # noqa: F401  (registers mcl_mm's components)
except Exception as err:  # noqa: B902 (named below, or raised again)
    if multimodal_import_error(err) is None:
        raise
    sys.exit(multimodal_import_error(err))

import mmpretrain  # noqa: E402
from mcl_mm.engine.hooks import CheckpointSaveError, ResumeError  # noqa: E402

CPU_DDP_OPTIONS = [
    'env_cfg.dist_cfg.backend=gloo',
    'model_wrapper_cfg.type=MMDistributedDataParallel',
    'model_wrapper_cfg.device_ids=None',
]


@functools.lru_cache(maxsize=None)
def config_of(path: str) -> Config:
    """The config file at ``path``, parsed once for the checks below."""
    return Config.fromfile(path)


def dist_timeout(argv: list) -> Optional[datetime.timedelta]:
    """The process group's timeout: ``env_cfg.dist_cfg.timeout`` (seconds)
    of the config or of ``--cfg-options``; None when neither sets it."""
    key = 'env_cfg.dist_cfg.timeout='
    given = [a[len(key):] for a in argv if a.startswith(key)]
    if given:
        return datetime.timedelta(seconds=float(given[-1]))
    seconds = config_of(argv[1]).get('env_cfg', {}).get('dist_cfg',
                                                        {}).get('timeout')
    return None if seconds is None else datetime.timedelta(seconds=seconds)


def prepare_cpu_ddp(argv: list) -> list:
    """Start the gloo process group (with the config's timeout) and add
    the CPU DDP options to argv when ``--launcher pytorch`` runs without
    CUDA; else return argv."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument('--launcher', default='none')
    launcher = parser.parse_known_args(argv[1:])[0].launcher
    if launcher != 'pytorch' or torch.cuda.is_available():
        return argv
    timeout = dist_timeout(argv)
    torch.distributed.init_process_group(
        backend='gloo', **({} if timeout is None else dict(timeout=timeout)))
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
    wrapper = config_of(argv[1]).get('optim_wrapper', {})
    if wrapper.get('type') != 'MixedPrecisionOptimWrapper':
        return argv
    print(
        f'--amp left out: {argv[1]} trains in mixed precision already '
        f"(MixedPrecisionOptimWrapper, dtype={wrapper.get('dtype', 'auto')})")
    return [a for a in argv if a != '--amp']


PEER_FAILURE = re.compile(
    r'Connection closed by peer|Connection reset|timed '
    r'out|Timeout|NCCL|Broken pipe', re.I)


def lost_ranks(wait: float = 10.0) -> str:
    """The ranks that are gone, asked of the rendezvous store: each rank
    still alive checks in, and those that do not within ``wait`` seconds
    are named."""
    dist = torch.distributed
    rank, world = dist.get_rank(), dist.get_world_size()
    try:
        store = dist.distributed_c10d._get_default_store()
        store.set(f'mcl_mm/alive/{rank}', '1')
        keys = [f'mcl_mm/alive/{r}' for r in range(world)]
        deadline = time.time() + wait
        while time.time() < deadline and not store.check(keys):
            time.sleep(0.2)
        lost = [r for r, key in enumerate(keys) if not store.check([key])]
    except RuntimeError:  # the store lives in rank 0's process
        return 'rank 0 (it holds the rendezvous store) is unreachable'
    return f'rank(s) {", ".join(map(str, lost)) or "none found"} lost'


def peer_failure(err: BaseException) -> bool:
    """Whether ``err`` is a collective that failed because a peer rank
    died or stopped answering."""
    dist = torch.distributed
    return (dist.is_available() and dist.is_initialized()
            and dist.get_world_size() > 1
            and bool(PEER_FAILURE.search(str(err))))


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
    except (ResumeError, CheckpointSaveError) as err:
        sys.exit(f'error: {err}')
    except RuntimeError as err:
        if not peer_failure(err):
            raise
        first = str(err).strip().splitlines()[0][:200]
        sys.exit(f'error: rank {torch.distributed.get_rank()} of '
                 f'{torch.distributed.get_world_size()} stopped: '
                 f'{lost_ranks()} ({first}); relaunch with --resume to '
                 'continue from the last checkpoint')
    except Exception as err:  # noqa: B902 (named below, or raised again)
        if multimodal_import_error(err) is None:
            raise
        sys.exit(multimodal_import_error(err))
