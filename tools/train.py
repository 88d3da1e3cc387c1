# Copyright (c) mcl_mm contributors. All rights reserved.
"""Train with mmpretrain's own ``tools/train.py``, mcl_mm registered.

Same flags as mmpretrain's (``--work-dir``, ``--resume [CKPT]``, ``--amp``,
``--auto-scale-lr``, ``--cfg-options``, ``--launcher``...), because it *is*
mmpretrain's script (shipped in its package as ``.mim/tools/train.py``, the
file ``mim train mmpretrain`` runs): this wrapper only imports mcl_mm first,
so configs without ``custom_imports`` work too.
"""
import os.path as osp
import runpy

import mmpretrain

import mcl_mm  # noqa: F401  (registers mcl_mm's components)

if __name__ == '__main__':
    script = osp.join(osp.dirname(mmpretrain.__file__), '.mim', 'tools',
                      'train.py')
    if not osp.isfile(script):
        raise FileNotFoundError(
            f'mmpretrain ships no training script at {script}; install '
            'mmpretrain from its wheel (pip install mmpretrain==1.2.0)')
    runpy.run_path(script, run_name='__main__')
