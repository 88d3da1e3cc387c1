import os.path as osp
import subprocess
import sys

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
    assert len(models) == 5
    for model in models:
        assert osp.isfile(osp.join(ROOT, model['Config'])), model['Name']
        if 'Results' in model:
            assert 'paper' in model['Metadata']['Results Source']


def test_mim_search_lists_the_models():
    mim = osp.join(osp.dirname(sys.executable), 'mim')
    proc = subprocess.run([mim, 'search', 'mcl_mm'], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for name in ('mcl_r50-fpn_32xb128-amp-coslr-100e_in1k',
                 'mcl_r18-fpn_1xb16-96px-s3-100it_demo'):
        assert f'config id: {name}' in proc.stdout
