"""The CI summary: a stage's test counts read from pytest's own report, the
seconds as given, and .ci/run's stages as the README names them."""
import json
import os.path as osp
import re
import subprocess
import sys

from tools.ci_summary import junit_counts
from conftest import ROOT

TESTS = '''
import pytest

def test_a(): pass
def test_b(): pass
def test_c(): assert False
@pytest.mark.skip(reason='x')
def test_d(): pass
@pytest.fixture
def broken(): raise RuntimeError
def test_e(broken): pass
'''


def test_counts_and_seconds_of_a_real_pytest_report(tmp_path):
    (tmp_path / 'test_some.py').write_text(TESTS)
    report = tmp_path / 'report.xml'
    subprocess.run([
        sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider',
        str(tmp_path / 'test_some.py'), f'--junitxml={report}'
    ],
                   cwd=tmp_path,
                   capture_output=True)
    # two pass, one fails, one is skipped, one errors in its fixture
    assert junit_counts(str(report)) == dict(
        tests=5, passed=2, skipped=1, failed=1, errors=1)
    out = tmp_path / 'ci' / 'summary.json'
    subprocess.run([
        sys.executable,
        osp.join(ROOT, 'tools', 'ci_summary.py'), '--out',
        str(out), '--stage', 'lint=12', 'test=1175', '--junit',
        f'test={report}'
    ],
                   cwd=ROOT,
                   check=True,
                   capture_output=True)
    result = json.loads(out.read_text())
    assert result['seconds'] == dict(lint=12, test=1175, total=1187)
    assert result['tests']['test']['passed'] == 2
    bad = subprocess.run([
        sys.executable,
        osp.join(ROOT, 'tools', 'ci_summary.py'), '--out',
        str(out), '--stage', 'lint'
    ],
                         cwd=ROOT,
                         capture_output=True,
                         text=True)
    assert bad.returncode != 0 and "'lint': expected NAME=VALUE" in bad.stderr


def test_ci_runs_the_readme_test_command_and_summarises_it():
    with open(osp.join(ROOT, 'README.md'), encoding='utf-8') as f:
        readme = f.read()
    with open(osp.join(ROOT, '.ci', 'run'), encoding='utf-8') as f:
        ci = f.read()
    assert re.search(r'^make test\b', readme, re.M)
    stages = re.findall(r'^stage (\S+) (make \S+)', ci, re.M)
    assert stages == [('lint', 'make lint'), ('test', 'make test'),
                      ('test-numpy1', 'make test-numpy1'),
                      ('docs', 'make docs')]
    assert 'tools/ci_summary.py' in ci
