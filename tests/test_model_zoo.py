import glob
import os.path as osp
import subprocess
import sys

import pytest
import yaml

from conftest import ROOT


def test_metafile_configs_exist_and_paper_numbers_are_marked():
    with open(osp.join(ROOT, 'model-index.yml')) as f:
        index = yaml.safe_load(f)
    models = []
    for path in index['Import']:
        with open(osp.join(ROOT, path)) as f:
            meta = yaml.safe_load(f)
        models += meta['Models']
    # every pre-training config (ablations aside) is in the index
    configs = sorted(
        osp.relpath(p, ROOT)
        for d in ('mcl', 'mcl/supervised', 'ssprl', 'maskco')
        for p in glob.glob(osp.join(ROOT, 'configs', d, '*.py')))
    assert sorted(m['Config'] for m in models) == configs
    for model in models:
        assert osp.isfile(osp.join(ROOT, model['Config'])), model['Name']
        if 'Results' in model:
            assert 'paper' in model['Metadata']['Results Source']


@pytest.mark.slow
def test_mim_search_lists_the_models():
    mim = osp.join(osp.dirname(sys.executable), 'mim')
    proc = subprocess.run([mim, 'search', 'mcl_mm'],
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for name in ('mcl_r50-fpn_32xb128-amp-coslr-100e_in1k',
                 'mcl_r18-fpn_1xb16-96px-s3-100it_demo',
                 'ssprl_r50_4xb32-amp-lars-coslr-200e_coco',
                 'maskco_r50_8xb32-coslr-200e_in1k'):
        assert f'config id: {name}' in proc.stdout
