import glob
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch

from conftest import DEMO_CONFIG, ROOT

pytestmark = pytest.mark.slow  # subprocess / training runs


def _train(work_dir, photo_dir, *extra):
    cmd = [
        sys.executable,
        osp.join(ROOT, 'tools', 'train.py'), DEMO_CONFIG, '--work-dir',
        work_dir, '--cfg-options', f'train_dataloader.dataset.data_root='
        f'{photo_dir}', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'default_hooks.logger.interval=1',
        'default_hooks.checkpoint.interval=2', *extra
    ]
    proc = subprocess.run(
        cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def test_two_iterations_then_resume_continues_at_three(tmp_path, photo_dir):
    work_dir = str(tmp_path / 'work')
    out = _train(work_dir, photo_dir, 'train_cfg.max_iters=2')
    ckpt = osp.join(work_dir, 'iter_2.pth')
    assert osp.isfile(ckpt), out[-2000:]
    assert re.search(r'Iter\(train\) \[2/2\].*loss: [0-9.]+', out)

    # the checkpoint loads with weights_only kept on
    state = torch.load(ckpt, weights_only=True, map_location='cpu')
    assert state['meta']['iter'] == 2
    assert any(k.startswith('target_net.') for k in state['state_dict'])

    out = _train(work_dir, photo_dir, 'train_cfg.max_iters=3', '--resume',
                 ckpt)
    assert 'resumed epoch: 0, iter: 2' in out, out[-2000:]
    assert re.search(r'Iter\(train\) \[3/3\]', out), out[-2000:]
    assert not re.search(r'Iter\(train\) \[[12]/3\]', out)
    assert osp.isfile(osp.join(work_dir, 'iter_3.pth'))
    logs = glob.glob(osp.join(work_dir, '*', '*.log'))
    assert len(logs) == 2 and all(os.path.getsize(p) > 0 for p in logs)
