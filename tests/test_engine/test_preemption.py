"""Pre-emption, a full disk and a dead rank: a signal gives a checkpoint at
the next iteration boundary and exit code 75 on every rank, and the run
resumes to its end; tools/slurm_train.sh requeues such a job; a failed save
stops with one line and leaves the last good checkpoint; the surviving rank
of a DDP run stops within the process group's timeout."""
import errno
import glob
import json
import os
import os.path as osp
import re
import signal
import socket
import stat
import subprocess
import sys
import time

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import RUNNERS

from mcl_mm.engine.hooks import (EXIT_PREEMPTED, CheckpointSaveError,
                                 PreemptionHook)
from mcl_mm.fileio import atomic_local_backend
from conftest import DEMO_CONFIG, ROOT

SLURM = osp.join(ROOT, 'tools', 'slurm_train.sh')


def _stand_in(folder, name, body):
    path = osp.join(folder, name)
    with open(path, 'w') as f:
        f.write('#!/usr/bin/env bash\n' + body)
    os.chmod(path, os.stat(path).st_mode | stat.S_IEXEC)


def _slurm(tmp_path, codes, job_id=None):
    """tools/slurm_train.sh with stand-ins for srun (exits with the next of
    ``codes``, recording its arguments) and scontrol (recording them)."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    log = tmp_path / 'calls'
    _stand_in(
        str(bin_dir), 'srun', f'echo "srun $*" >> {log}\n'
        f'n=$(grep -c ^srun {log})\n'
        f'codes=({" ".join(map(str, codes))})\n'
        'exit ${codes[$((n - 1))]}\n')
    _stand_in(str(bin_dir), 'scontrol', f'echo "scontrol $*" >> {log}\n')
    env = dict(os.environ, PATH=f'{bin_dir}:{os.environ["PATH"]}')
    env.pop('SLURM_JOB_ID', None)
    if job_id:
        env['SLURM_JOB_ID'] = job_id
    proc = subprocess.run(
        ['bash', SLURM, 'part', 'job', 'cfg.py', 'work', '--amp'],
        env=env,
        capture_output=True,
        text=True,
        timeout=60)
    return proc.returncode, log.read_text().splitlines()


def test_slurm_script_requeues_a_preempted_batch_job(tmp_path):
    rc, calls = _slurm(tmp_path, [EXIT_PREEMPTED], job_id='4242')
    assert rc == 0
    assert len(calls) == 2 and calls[1] == 'scontrol requeue 4242'
    srun = calls[0]
    assert '--signal=USR1@180' in srun
    assert re.search(
        r'train\.py cfg\.py --work-dir=work --launcher=slurm '
        r'--resume --amp$', srun), srun


def test_slurm_script_restarts_outside_a_batch_job(tmp_path):
    rc, calls = _slurm(tmp_path, [EXIT_PREEMPTED, EXIT_PREEMPTED, 0])
    assert rc == 0
    assert [c.split()[0] for c in calls] == ['srun'] * 3


def test_slurm_script_passes_other_failures_through(tmp_path):
    rc, calls = _slurm(tmp_path, [3], job_id='4242')
    assert rc == 3 and len(calls) == 1  # no requeue


def _demo_cfg(tmp_path, photo_dir, **options) -> Config:
    cfg = Config.fromfile(DEMO_CONFIG)
    cfg.merge_from_dict({
        'train_dataloader.dataset.data_root': photo_dir,
        'train_dataloader.num_workers': 0,
        'train_dataloader.persistent_workers': False,
        'default_hooks.logger.interval': 1,
        **options
    })
    cfg.custom_hooks = [
        h for h in cfg.custom_hooks if h.type != 'DenseProbeHook'
    ]
    cfg.work_dir = str(tmp_path)
    return cfg


def test_a_second_signal_during_the_save_changes_nothing():
    hook = PreemptionHook()
    hook.before_train(None)
    hook._handle(signal.SIGTERM, None)
    hook._handle(signal.SIGUSR1, None)  # while the checkpoint is written
    hook._handle(signal.SIGTERM, None)
    assert hook.received == signal.SIGTERM and hook.repeats == 2
    hook.after_train(None)  # the handlers it replaced are back
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    with pytest.raises(ValueError, match='unknown signals'):
        PreemptionHook(signals=('SIGNOPE', ))


@pytest.mark.slow
def test_a_failed_save_names_the_last_good_checkpoint_and_resumes(
        tmp_path, photo_dir, monkeypatch):
    """The save at iteration 4 hits ENOSPC: one line names the file, the
    error and iter_2.pth; no temporary file is left; --resume continues
    from iter_2.pth to the end."""
    cfg = _demo_cfg(
        tmp_path, photo_dir, **{
            'train_cfg.max_iters': 6,
            'default_hooks.checkpoint.interval': 2
        })
    real_replace = os.replace

    def full_disk(src, dst):
        if dst.endswith('iter_4.pth'):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), dst)
        return real_replace(src, dst)

    monkeypatch.setattr(atomic_local_backend.os, 'replace', full_disk)
    runner = RUNNERS.build(cfg)
    with pytest.raises(CheckpointSaveError) as err:
        runner.train()
    message = str(err.value)
    assert '\n' not in message
    assert f'cannot save checkpoint {tmp_path / "iter_4.pth"}' in message
    assert 'No space left on device' in message
    assert f'last good checkpoint is {tmp_path / "iter_2.pth"}' in message
    assert not glob.glob(str(tmp_path / '.*.tmp'))
    assert (tmp_path / 'last_checkpoint').read_text().strip() == str(
        tmp_path / 'iter_2.pth')
    monkeypatch.undo()
    resumed = RUNNERS.build(
        _demo_cfg(
            tmp_path, photo_dir, **{
                'train_cfg.max_iters': 6,
                'default_hooks.checkpoint.interval': 2,
                'resume': True
            }))
    resumed.train()
    assert resumed.iter == 6 and osp.isfile(tmp_path / 'iter_6.pth')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _launch(work_dir, photo_dir, iters, port, *extra, workers=0):
    """Two CPU ranks of tools/train.py (gloo), started as torchrun would
    start them but without its agent, so each rank's exit code is seen;
    each rank leads a process group of its own (with its loader
    workers), as a Slurm task does."""
    procs = []
    for rank in range(2):
        env = dict(
            os.environ,
            MASTER_ADDR='127.0.0.1',
            MASTER_PORT=str(port),
            RANK=str(rank),
            LOCAL_RANK=str(rank),
            WORLD_SIZE='2',
            OMP_NUM_THREADS='1')
        cmd = [
            sys.executable,
            osp.join(ROOT, 'tools', 'train.py'), DEMO_CONFIG, '--work-dir',
            str(work_dir), '--launcher', 'pytorch', '--cfg-options',
            f'train_dataloader.dataset.data_root={photo_dir}',
            f'train_dataloader.num_workers={workers}',
            f'train_dataloader.persistent_workers={workers > 0}',
            f'train_cfg.max_iters={iters}', 'default_hooks.logger.interval=1',
            'default_hooks.checkpoint.interval=100', *extra
        ]
        log = open(osp.join(str(work_dir), f'rank{rank}.out'), 'w')
        procs.append(
            subprocess.Popen(
                cmd,
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True))
    return procs


def _wait_for(path, pattern, timeout=300):
    start = time.time()
    while time.time() - start < timeout:
        if osp.isfile(path) and re.search(pattern, open(path).read()):
            return
        time.sleep(0.5)
    raise AssertionError(f'{pattern!r} not in {path} after {timeout} s')


def _losses(work_dir):
    rows = []
    for path in sorted(
            glob.glob(
                osp.join(str(work_dir), '*', 'vis_data', 'scalars.json'))):
        rows += [json.loads(line) for line in open(path)]
    return {r['step']: r['loss'] for r in rows if 'loss' in r}


@pytest.mark.slow
def test_sigterm_to_one_rank_saves_on_both_and_resume_reaches_the_end(
        tmp_path, photo_dir):
    work = tmp_path / 'run'
    work.mkdir()
    procs = _launch(work, photo_dir, 12, _free_port(), workers=1)
    _wait_for(str(work / 'rank0.out'), r'Iter\(train\) \[ *3/12\]')
    # the signal reaches one rank, and its loader worker, which keeps going
    os.killpg(procs[1].pid, signal.SIGTERM)
    codes = [p.wait(timeout=300) for p in procs]
    out = (work / 'rank0.out').read_text()
    assert codes == [EXIT_PREEMPTED] * 2, out[-3000:]
    saved = re.search(
        r'(SIGTERM|a signal on another rank) received: checkpoint (\S+) '
        r'saved after iteration (\d+)', out)
    assert saved, out[-3000:]
    step = int(saved.group(3))
    assert 3 <= step < 12
    assert saved.group(2) == str(work / f'iter_{step}.pth')
    assert (work / 'last_checkpoint').read_text().strip() == saved.group(2)
    before = _losses(work)
    assert max(before) == step  # nothing logged after the saved iteration
    # the resumed run: the same command with --resume, to the end
    procs = _launch(work, photo_dir, 12, _free_port(), '--resume')
    codes = [p.wait(timeout=600) for p in procs]
    assert codes == [0, 0], (work / 'rank0.out').read_text()[-3000:]
    after = _losses(work)
    assert sorted(set(after) - set(before)) == list(range(step + 1, 13))
    ckpt = torch.load(str(work / 'iter_12.pth'), weights_only=True)
    assert ckpt['meta']['iter'] == 12


@pytest.mark.slow
def test_a_dead_rank_stops_the_other_within_the_timeout(tmp_path, photo_dir):
    work = tmp_path / 'run'
    work.mkdir()
    procs = _launch(work, photo_dir, 400, _free_port(),
                    'env_cfg.dist_cfg.timeout=20')
    _wait_for(str(work / 'rank0.out'), r'Iter\(train\) \[ *3/400\]')
    procs[1].kill()  # SIGKILL: no checkpoint, no goodbye
    start = time.time()
    code = procs[0].wait(timeout=120)
    elapsed = time.time() - start
    out = (work / 'rank0.out').read_text()
    assert code not in (0, None) and elapsed < 60, (elapsed, out[-3000:])
    assert 'error: rank 0 of 2 stopped: rank(s) 1 lost' in out, out[-3000:]
