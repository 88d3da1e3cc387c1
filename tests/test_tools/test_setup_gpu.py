"""tools/setup_gpu.sh (``make setup-gpu``) says first what needs the CUDA
ops, and stops with one line naming what is missing before it builds."""
import os
import subprocess
import sys

import pytest

from conftest import ROOT

SCRIPT = os.path.join(ROOT, 'tools', 'setup_gpu.sh')


def _run(python: str, path: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != 'CUDA_HOME'}
    env.update(PATH=path, PYTHON=python, MCL_CACHE='/nonexistent/cache')
    return subprocess.run(['bash', SCRIPT],
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=120)


def test_without_nvcc_it_names_the_toolkit_and_builds_nothing():
    import torch
    if torch.version.cuda is None:
        pytest.skip('a CPU build of torch stops one step earlier')
    proc = _run(sys.executable, '/usr/bin:/bin')
    assert proc.returncode == 2
    assert 'Pre-training (MCL, SS-PRL, BYOL)' in proc.stdout
    assert 'needs no compiled op' in proc.stdout
    error = proc.stderr.strip().splitlines()
    assert error == [
        '[setup-gpu] error: nvcc not found (CUDA_HOME unset, none on PATH): '
        f'install the CUDA toolkit {torch.version.cuda} that torch was built '
        'with, or skip this step (pre-training needs no compiled op)'
    ]
    assert 'building' not in proc.stdout


def test_without_torch_it_says_to_install_torch(tmp_path):
    fake = tmp_path / 'python'
    fake.write_text('#!/bin/sh\nexit 1\n')  # an interpreter without torch
    fake.chmod(0o755)
    proc = _run(str(fake), '/usr/bin:/bin')
    assert proc.returncode == 2
    assert 'has no torch: install a CUDA build of torch first' in proc.stderr
