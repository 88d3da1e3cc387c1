"""Checkpoints that survive crashes: saves cut short leave the previous
checkpoints readable, resuming skips (and names) broken files, and every
reader refuses a code-running pickle naming the file."""
import glob
import os
import os.path as osp
import pickle
import re
import resource
import runpy
import signal
import subprocess
import sys
import uuid

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.registry import HOOKS, DefaultScope
from mmengine.runner import Runner
from torch import nn
from torch.utils.data import DataLoader, default_collate

from mcl_mm.converters.checkpoint_file import (CheckpointReadError,
                                               read_checkpoint)
from mcl_mm.converters.mcl_checkpoint import load_mcl_state
from mcl_mm.converters.publish import publish
from mcl_mm.engine.hooks import ResumeError, SafeCheckpointHook
from conftest import DEMO_CONFIG, ROOT

HERE = osp.dirname(osp.abspath(__file__))
TESTS = osp.dirname(HERE)
BALLAST = 1 << 20  # float32 values: checkpoints of about 4 MB


class ToyModel(BaseModel):
    """A linear model whose buffer makes its checkpoints large."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 1)
        self.register_buffer('ballast', torch.zeros(BALLAST))

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.linear(inputs)
        return dict(loss=out.pow(2).mean()) if mode == 'loss' else out


class FileSizeLimit(Hook):
    """From iteration ``at`` on (after its checkpoint), a file may not grow
    past 1 MB: the next checkpoint's write is cut short, as on a full disk
    (EFBIG), or the process is killed (SIGXFSZ, where it is not ignored)."""

    priority = 'LOWEST'  # after the checkpoint hook

    def __init__(self, at: int) -> None:
        self.at = at

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None) -> None:
        if runner.iter + 1 == self.at:
            hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
            resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, hard))


def toy_runner(work_dir, max_iters: int, **kwargs) -> Runner:
    """A runner of :class:`ToyModel` saving every 4 iterations."""
    # enough batches for 16 iterations: mmengine sleeps 2 s at each restart
    data = [dict(inputs=torch.randn(2)) for _ in range(32)]
    return Runner(
        model=ToyModel(),
        work_dir=str(work_dir),
        experiment_name=f'toy_{uuid.uuid4().hex}',
        train_dataloader=DataLoader(
            data, batch_size=2, collate_fn=default_collate),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(
            checkpoint=dict(
                type='SafeCheckpointHook', by_epoch=False, interval=4)),
        **kwargs)


def train_until_the_disk_is_full(work_dir: str) -> None:
    """Train to 12, the write of iter_12.pth cut short (subprocess)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_DFL)  # Python ignores it
    toy_runner(work_dir, 12, custom_hooks=[FileSizeLimit(at=8)]).train()


def _log(work_dir) -> str:
    logs = sorted(glob.glob(osp.join(str(work_dir), '*', '*.log')))
    with open(logs[-1]) as f:
        return f.read()


def _assert_previous_checkpoints_whole(work_dir) -> None:
    """Every file under a checkpoint's name reads; last_checkpoint names
    iter_8.pth."""
    names = sorted(osp.basename(p) for p in glob.glob(f'{work_dir}/*.pth'))
    assert names == ['iter_4.pth', 'iter_8.pth'], names
    for name in names:
        read_checkpoint(osp.join(work_dir, name))
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        pointer = f.read()
    assert pointer == osp.join(work_dir, 'iter_8.pth')
    assert read_checkpoint(pointer)['meta']['iter'] == 8


@pytest.mark.slow
def test_a_save_killed_mid_write_leaves_the_previous_checkpoints(tmp_path):
    work_dir = str(tmp_path / 'work')
    proc = subprocess.run([
        sys.executable, '-c', 'import test_checkpoint_safety as t; '
        f't.train_until_the_disk_is_full({work_dir!r})'
    ],
                          cwd=ROOT,
                          env=dict(
                              os.environ,
                              PYTHONPATH=os.pathsep.join([HERE, TESTS, ROOT])),
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == -signal.SIGXFSZ, proc.stderr[-3000:]
    _assert_previous_checkpoints_whole(work_dir)

    runner = toy_runner(work_dir, 12, resume=True)
    runner.train()
    assert runner.iter == 12
    assert 'resumed epoch: 0, iter: 8' in _log(work_dir)


def test_a_save_whose_write_fails_leaves_no_cut_file(tmp_path):
    work_dir = str(tmp_path)
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    try:
        with pytest.raises(OSError, match='too large'):
            toy_runner(
                work_dir, 12, custom_hooks=[FileSizeLimit(at=8)]).train()
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limit)
    _assert_previous_checkpoints_whole(work_dir)
    assert os.listdir(work_dir) and not glob.glob(f'{work_dir}/.*.tmp')


def _cut(path: str) -> None:
    with open(path, 'r+b') as f:
        f.truncate(os.path.getsize(path) // 2)


def test_a_truncated_newest_checkpoint_resumes_from_the_previous_one(tmp_path):
    toy_runner(tmp_path, 12).train()
    broken = str(tmp_path / 'iter_12.pth')
    _cut(broken)

    runner = toy_runner(tmp_path, 16, resume=True)
    runner.train()
    assert runner.iter == 16
    log = _log(tmp_path)
    assert re.search(
        rf'Cannot resume from {re.escape(broken)}: truncated or damaged', log)
    assert 'resumed epoch: 0, iter: 8' in log
    assert read_checkpoint(broken)['meta']['iter'] == 12  # saved again


def test_resume_refuses_to_start_over_when_no_checkpoint_reads(tmp_path):
    toy_runner(tmp_path, 8).train()
    for name in ('iter_4.pth', 'iter_8.pth'):
        _cut(str(tmp_path / name))
    with pytest.raises(ResumeError) as err:
        toy_runner(tmp_path, 12, resume=True).train()
    message = str(err.value)
    assert 'none can be read' in message
    assert str(tmp_path / 'iter_8.pth') in message
    assert str(tmp_path / 'iter_4.pth') in message
    assert not osp.exists(tmp_path / 'iter_12.pth')  # nothing trained

    # without any checkpoint, --resume starts from scratch as in mmengine
    fresh = toy_runner(tmp_path / 'fresh', 4, resume=True)
    fresh.train()
    assert fresh.iter == 4


def test_resume_path_that_cannot_be_read_names_the_alternatives(tmp_path):
    toy_runner(tmp_path, 12).train()
    broken = str(tmp_path / 'iter_12.pth')
    _cut(broken)
    with pytest.raises(ResumeError) as err:
        toy_runner(tmp_path, 16, resume=True, load_from=broken).train()
    assert str(err.value) == (
        f'cannot resume from {broken}: truncated or damaged ('
        f'{os.path.getsize(broken)} bytes; a zip checkpoint without its '
        'central directory, as a write cut short leaves it); readable '
        f'checkpoints beside it: {tmp_path}/iter_8.pth, {tmp_path}/iter_4.pth')


@pytest.mark.slow
def test_train_tool_resumes_past_a_truncated_checkpoint(tmp_path, photo_dir):
    """The demo config through tools/train.py, at S=1 and batch 2."""
    config = tmp_path / 'tiny_demo.py'
    config.write_text('\n'.join([
        f'_base_ = [{DEMO_CONFIG!r}]',
        "model = dict(montage=dict(scales=(1, )))",
        'train_dataloader = dict(batch_size=2, num_workers=0, '
        f'persistent_workers=False, dataset=dict(data_root={photo_dir!r}))',
        "custom_hooks = [dict(type='NonFiniteLossHook')]",
        'train_cfg = dict(max_iters=6)',
        'default_hooks = dict(logger=dict(interval=1), '
        'checkpoint=dict(interval=2))',
    ]) + '\n')
    work_dir = str(tmp_path / 'work')

    def train(*extra):
        return subprocess.run([
            sys.executable,
            osp.join(ROOT, 'tools', 'train.py'),
            str(config), '--work-dir', work_dir, *extra
        ],
                              cwd=ROOT,
                              capture_output=True,
                              text=True,
                              timeout=600)

    proc = train()
    assert proc.returncode == 0, proc.stderr[-3000:]
    broken = osp.join(work_dir, 'iter_6.pth')
    _cut(broken)

    proc = train('--resume', broken)
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(
        f'error: cannot resume from {broken}: truncated or damaged'), last
    assert last.endswith(
        f'readable checkpoints beside it: {work_dir}/iter_4.pth'), last

    proc = train('--resume')
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert f'Cannot resume from {broken}: truncated or damaged' in out
    assert 'resumed epoch: 0, iter: 4' in out
    assert re.search(r'Iter\(train\) \[6/6\]', out)


class _Payload:
    """Unpickles as os.system('touch MARKER')."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


def _malicious(form: str, folder, marker: str) -> str:
    weights = np.ones(1) if form == 'pkl' else torch.ones(1)  # allowed
    ckpt = dict(state_dict=dict(w=weights), hook=_Payload(marker))
    if form == 'pkl':
        path = str(folder / 'evil.pkl')
        with open(path, 'wb') as f:
            pickle.dump(ckpt, f)
    else:
        path = str(folder / f'evil_{form}.pth')
        torch.save(ckpt, path, _use_new_zipfile_serialization=form == 'zip')
    return path


def _tool(script: str, *args: str) -> None:
    """Run a tool's command line here; it must exit with code 1."""
    argv = sys.argv
    sys.argv = [script, *args]
    try:
        with pytest.raises(SystemExit) as code:
            runpy.run_path(osp.join(ROOT, script), run_name='__main__')
    finally:
        sys.argv = argv
    assert code.value.code == 1


TOOLS = {
    'convert_mcl': ('tools/model_converters/convert_mcl.py', '{src}', '{out}'),
    'check_load': ('tools/analysis_tools/check_load.py', DEMO_CONFIG, '{src}'),
    'dense_probe': ('tools/analysis_tools/dense_probe.py', '{src}',
                    '--ann-file', 'none.json', '--img-dir', 'none'),
    'publish_model': ('tools/publish_model.py', '{src}', '{out}'),
}


@pytest.mark.parametrize('form', ['pkl', 'zip', 'legacy'])
def test_code_running_pickles_are_refused_by_every_reader(
        form, tmp_path, capsys):
    control = tmp_path / 'control'
    pickle.loads(pickle.dumps(_Payload(control)))  # the payload does run
    assert control.exists()
    marker = str(tmp_path / 'payload_ran')
    src = _malicious(form, tmp_path, marker)
    out = str(tmp_path / 'out.pth')
    readers = [
        lambda: read_checkpoint(src), lambda: load_mcl_state(src),
        lambda: publish(src, out)
    ]
    for read in readers:
        with pytest.raises(CheckpointReadError) as err:
            read()
        assert str(err.value).startswith(f'{src}: refus')
        assert 'posix.system' in str(err.value)
    for name, (script, *args) in TOOLS.items():
        _tool(script, *(a.format(src=src, out=out) for a in args))
        error = capsys.readouterr().err
        assert error.startswith(f'error: {src}: refus'), (name, error)
        assert 'posix.system' in error and error.count('\n') == 1, name
    assert not osp.exists(marker)
    assert not glob.glob(str(tmp_path / 'out*.pth'))


@pytest.mark.parametrize('form', ['pkl', 'zip', 'legacy'])
def test_resuming_refuses_code_running_pickles(form, tmp_path):
    marker = str(tmp_path / 'payload_ran')
    src = _malicious(form, tmp_path, marker)
    with pytest.raises(ResumeError, match=re.escape(f'from {src}: refus')):
        toy_runner(tmp_path / 'work', 4, resume=True, load_from=src).train()
    # as the newest checkpoint of a work dir: skipped, naming it
    work_dir = tmp_path / 'auto'
    toy_runner(work_dir, 8).train()
    os.replace(src, work_dir / 'iter_8.pth')  # last_checkpoint names it
    runner = toy_runner(work_dir, 8, resume=True)
    runner.train()
    assert re.search(
        rf'Cannot resume from {re.escape(str(work_dir))}/iter_8.pth: refus',
        _log(work_dir))
    assert 'resumed epoch: 0, iter: 4' in _log(work_dir)
    assert not osp.exists(marker)


CONFIGS = sorted(
    p for p in glob.glob(
        osp.join(ROOT, 'configs', '**', '*.py'), recursive=True)
    if '_base_' not in p)


@pytest.mark.slow
def test_every_config_saves_through_the_safe_checkpoint_hook():
    assert len(CONFIGS) > 40
    for path in CONFIGS:
        cfg = Config.fromfile(path)
        # the tools of mmdet / mmseg (mim train) import mcl_mm only so
        assert 'mcl_mm' in cfg.custom_imports['imports'], path
        scope = cfg.get('default_scope', 'mmengine')
        with DefaultScope.overwrite_default_scope(scope):
            hook = HOOKS.build(cfg.default_hooks.checkpoint)
        assert isinstance(hook, SafeCheckpointHook), path
        assert hook.backend_args == dict(backend='atomic_local'), path
