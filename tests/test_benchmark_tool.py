import json
import os.path as osp
import subprocess
import sys

import pytest

from conftest import DEMO_CONFIG, ROOT


def test_benchmark_prints_side_by_side_ratios(tmp_path):
    out = tmp_path / 'bench.json'
    proc = subprocess.run([
        sys.executable,
        osp.join(ROOT, 'tools', 'analysis_tools', 'benchmark.py'), '--mcl',
        DEMO_CONFIG, '--byol-options', 'model.backbone.depth=18',
        'model.neck.in_channels=512', 'model.neck.hid_channels=256',
        'model.head.predictor.in_channels=256',
        'model.head.predictor.hid_channels=256', '--batch-size', '16',
        '--resolution', '64', '--iters', '2', '--warmup', '1', '--profile',
        '--json', str(out)
    ], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = json.loads(out.read_text())
    for name in ('MCL', 'BYOL'):
        assert r[name]['step_time_s'] > 0
        assert r[name]['images_per_s'] == pytest.approx(
            16 / r[name]['step_time_s'])
        assert r[name]['train_gflops_per_image'] > \
            r[name]['forward_gflops_per_image'] > 0
    ratios = r['ratios']
    assert ratios['step_time_mcl_over_byol'] == pytest.approx(
        r['MCL']['step_time_s'] / r['BYOL']['step_time_s'])
    # the authors' formulation runs the head on every pyramid level and the
    # target on every montage level: more work than ours
    assert 0 < ratios['forward_flops_ours_over_authors'] < 1
    assert 'step_time_mcl_over_byol' in proc.stdout
    # --profile: one step's top ops per model
    for name in ('MCL', 'BYOL'):
        assert 'aten::' in r['profile_tables'][name]


def test_data_profile_splits_pipeline_time_by_transform(tmp_path):
    out = tmp_path / 'data.json'
    proc = subprocess.run([
        sys.executable,
        osp.join(ROOT, 'tools', 'analysis_tools', 'benchmark.py'), '--mode',
        'data', '--mcl', DEMO_CONFIG, '--rounds', '1', '--profile', '--json',
        str(out)
    ], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    prof = json.loads(out.read_text())['profile_ms_per_image']
    mcl, byol = prof['MCL'], prof['BYOL']
    assert 'MontageAssembly' in mcl and 'MontageAssembly' not in byol
    # MCL colours 2 x S = 6 views per image, BYOL 2: more jitter time
    assert mcl['ColorJitter'] > byol['ColorJitter'] > 0
    # the wrapper includes what it calls
    assert mcl['MontageAssembly'] >= mcl['ColorJitter']
    assert 'ms per image in each transform class' in proc.stdout
