"""Kill and resume, non-finite losses, DDP on CPU, determinism."""
import json
import os
import os.path as osp
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from conftest import DEMO_CONFIG, ROOT

pytestmark = pytest.mark.slow  # subprocess / training runs

TESTS = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _config(tmp_path, photo_dir, **extra) -> str:
    """A config inheriting the demo one, with the state probe hook."""
    lines = [
        f'_base_ = [{DEMO_CONFIG!r}]',
        "custom_imports = dict(imports=['mcl_mm', 'mcl_test_probes'], "
        'allow_failed_imports=False)',
        "custom_hooks = [dict(type='MontageBatchCheckHook'), "
        "dict(type='NonFiniteLossHook'), dict(type='StateProbeHook')]",
        'train_dataloader = dict(num_workers=0, persistent_workers=False, '
        f'dataset=dict(data_root={photo_dir!r}))',
        'default_hooks = dict(logger=dict(interval=1))',
    ] + [f'{k} = {v!r}' for k, v in extra.items()]
    path = tmp_path / 'probe_config.py'
    path.write_text('\n'.join(lines) + '\n')
    return str(path)


def _env():
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(
        [TESTS, ROOT, env.get('PYTHONPATH', '')])
    return env


def _cmd(config, work_dir, *extra):
    return [
        sys.executable,
        osp.join(ROOT, 'tools', 'train.py'), config, '--work-dir', work_dir,
        *extra
    ]


def _run(cmd, timeout=600):
    proc = subprocess.run(
        cmd,
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=timeout)
    return proc.returncode, proc.stdout + proc.stderr


def _assert_same(a, b, path=''):
    if isinstance(a, torch.Tensor):
        assert torch.equal(a, b), path
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            _assert_same(a[k], b[k], f'{path}.{k}')
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same(x, y, f'{path}[{i}]')
    else:
        assert a == b, path


def test_sigkill_then_resume_restores_every_state(tmp_path, photo_dir):
    config = _config(tmp_path, photo_dir)
    work_dir = str(tmp_path / 'work')
    proc = subprocess.Popen(
        _cmd(config, work_dir, '--cfg-options', 'train_cfg.max_iters=8',
             'default_hooks.checkpoint.interval=2'),
        cwd=ROOT,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    marker = osp.join(work_dir, 'last_checkpoint')
    deadline = time.time() + 300
    while not osp.exists(marker) and proc.poll() is None:
        assert time.time() < deadline, 'no checkpoint within 300 s'
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, 'finished before the kill'
    with open(marker) as f:
        ckpt_path = f.read().strip()
    ckpt = torch.load(ckpt_path, map_location='cpu', weights_only=True)
    saved_iter = ckpt['meta']['iter']
    assert saved_iter < 8

    code, out = _run(
        _cmd(config, work_dir, '--resume', '--cfg-options',
             'train_cfg.max_iters=8', 'default_hooks.checkpoint.interval=2'))
    assert code == 0, out[-3000:]
    assert f'resumed epoch: 0, iter: {saved_iter}' in out
    assert re.search(rf'Iter\(train\) \[{saved_iter + 1}/8\]', out)
    assert not re.search(rf'Iter\(train\) \[{saved_iter}/8\]', out)
    assert re.search(r'Iter\(train\) \[8/8\]', out)

    probe = torch.load(
        osp.join(work_dir, 'probe_before_train_rank0.pth'),
        map_location='cpu',
        weights_only=True)
    assert probe['iter'] == saved_iter
    # online and EMA target weights, BN statistics, EMA step counter
    _assert_same(probe['model'], ckpt['state_dict'], 'state_dict')
    assert any(k.startswith('target_net.') for k in probe['model'])
    _assert_same(probe['optimizer'], ckpt['optimizer'], 'optimizer')
    _assert_same(probe['schedulers'], ckpt['param_schedulers'], 'schedulers')
    hub, saved_hub = probe['message_hub'], ckpt['message_hub']
    assert hub['runtime_info']['iter'] == saved_iter
    for key, buf in saved_hub['log_scalars'].items():
        assert np.array_equal(hub['log_scalars'][key]._log_history,
                              buf._log_history), key
    assert osp.isfile(osp.join(work_dir, 'iter_8.pth'))


def test_non_finite_loss_stops_with_iteration_and_terms(tmp_path, photo_dir):
    # std 0 turns every input pixel into +-inf, so the first loss is NaN
    config = _config(tmp_path, photo_dir)
    code, out = _run(
        _cmd(config, str(tmp_path / 'work'), '--cfg-options',
             'train_cfg.max_iters=3', 'data_preprocessor.std=[0,0,0]'))
    assert code != 0
    assert re.search(
        r'FloatingPointError: non-finite loss at iteration 1: '
        r'loss=nan, loss_l0=nan', out), out[-2000:]


def _first_loss(work_dir):
    scalars = [
        osp.join(root, f) for root, _, files in os.walk(work_dir)
        for f in files if f == 'scalars.json'
    ]
    assert len(scalars) == 1
    with open(scalars[0]) as f:
        return json.loads(f.readline())['loss']


def test_same_seed_deterministic_runs_give_the_same_first_loss(
        tmp_path, photo_dir):
    config = _config(tmp_path, photo_dir)
    losses = []
    for run in range(2):
        work_dir = str(tmp_path / f'work{run}')
        code, out = _run(
            _cmd(config, work_dir, '--cfg-options', 'train_cfg.max_iters=1',
                 'randomness.seed=7', 'randomness.deterministic=True'))
        assert code == 0, out[-3000:]
        losses.append(_first_loss(work_dir))
    assert losses[0] == losses[1]
    # a different seed draws other views and montages
    work_dir = str(tmp_path / 'work_other')
    code, out = _run(
        _cmd(config, work_dir, '--cfg-options', 'train_cfg.max_iters=1',
             'randomness.seed=8', 'randomness.deterministic=True'))
    assert code == 0, out[-3000:]
    assert _first_loss(work_dir) != losses[0]


def test_ddp_on_cpu_two_processes(tmp_path, photo_dir):
    config = _config(tmp_path, photo_dir)
    work_dir = str(tmp_path / 'work')
    port = 29500 + os.getpid() % 1000
    code, out = _run([
        sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2',
        f'--master_port={port}',
        osp.join(ROOT, 'tools', 'train.py'), config, '--work-dir', work_dir,
        '--launcher', 'pytorch', '--cfg-options', 'train_cfg.max_iters=3',
        'default_hooks.checkpoint.interval=3'
    ],
                     timeout=900)
    assert code == 0, out[-3000:]
    assert 'Distributed training: True' in out
    losses = re.findall(r'Iter\(train\) \[\d/3\].* loss: ([0-9.naif]+) ', out)
    assert len(losses) == 3 and all(np.isfinite(float(v)) for v in losses)
    ranks = [
        torch.load(
            osp.join(work_dir, f'probe_after_train_rank{r}.pth'),
            map_location='cpu',
            weights_only=True)['model'] for r in (0, 1)
    ]
    ckpt = torch.load(
        osp.join(work_dir, 'iter_3.pth'),
        map_location='cpu',
        weights_only=True)['state_dict']
    # DDP keeps every parameter (online and EMA target) identical; BN
    # running statistics are per process (mmengine: broadcast_buffers=False)
    params = [
        k for k in ranks[0]
        if 'running_' not in k and 'num_batches_tracked' not in k
    ]
    assert any(k.startswith('target_net.') for k in params)
    for k in params:
        assert torch.equal(ranks[0][k], ranks[1][k]), k
        assert torch.equal(ranks[0][k], ckpt[k]), k
