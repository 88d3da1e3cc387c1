import glob
import json
import os.path as osp
import runpy
import subprocess
import sys

import pytest
import yaml
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope

from mcl_mm.engine import MontageRunner
from conftest import ROOT

PARAMS = 'docs/benchmarks/cpu-2026-12-05/params.json'
FLOPS = 'docs/benchmarks/h200-2026-12-04/model_default.json'


def metafile_models(index_path: str) -> list:
    """Every model of the metafiles a model index imports."""
    with open(index_path) as f:
        index = yaml.safe_load(f)
    models = []
    for path in index['Import']:
        with open(osp.join(osp.dirname(index_path), path)) as f:
            models += yaml.safe_load(f)['Models']
    return models


def unlisted_configs(models: list) -> list:
    """The pre-training configs no model of ``models`` names."""
    configs = {
        osp.relpath(p, ROOT)
        for d in ('mcl', 'mcl/supervised', 'mcl/ablations', 'ssprl', 'maskco')
        for p in glob.glob(osp.join(ROOT, 'configs', d, '*.py'))
    }
    return sorted(configs - {m['Config'] for m in models})


def test_metafiles_list_every_config_with_its_figures():
    """Every pre-training config is in the index (ablations too), with its
    parameter count from the committed count, FLOPs from the committed
    benchmark file where one is given, and downstream configs that exist;
    paper numbers are marked."""
    models = metafile_models(osp.join(ROOT, 'model-index.yml'))
    assert unlisted_configs(models) == []
    with open(osp.join(ROOT, PARAMS)) as f:
        params = json.load(f)
    with open(osp.join(ROOT, FLOPS)) as f:
        flops = json.load(f)['MCL']['forward_gflops_per_image']
    for model in models:
        assert osp.isfile(osp.join(ROOT, model['Config'])), model['Name']
        meta = model['Metadata']
        assert meta['Parameters'] == params[model['Config']]['params']
        if 'FLOPs' in meta:
            assert meta['FLOPs'] == round(flops * 1e9), model['Name']
        assert model['Downstream'], model['Name']
        for config in model['Downstream']:
            assert osp.isfile(osp.join(ROOT, config)), config
        if 'Results' in model:
            assert 'paper' in meta['Results Source']


def test_the_mcl_r50_fpn_parameters_are_the_built_models():
    """The metafile's count of the main config is the number of parameters
    of the model the runner's config functions build from it."""
    config = 'configs/mcl/mcl_r50-fpn_32xb128-amp-coslr-100e_in1k.py'
    counter = runpy.run_path(
        osp.join(ROOT, 'tools', 'analysis_tools', 'count_params.py'))
    cfg = MontageRunner.prepare_config(Config.fromfile(osp.join(ROOT, config)))
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        model = MODELS.build(cfg.model)
    built = sum(p.numel() for p in model.parameters())
    models = metafile_models(osp.join(ROOT, 'model-index.yml'))
    (listed, ) = [m for m in models if m['Config'] == config]
    assert listed['Metadata']['Parameters'] == built
    assert counter['count_params'](osp.join(ROOT, config))['params'] == built


def test_a_config_missing_from_the_metafiles_is_found():
    models = metafile_models(osp.join(ROOT, 'model-index.yml'))
    dropped = [m for m in models if 'ablations' not in m['Config']]
    assert unlisted_configs(dropped) == sorted(m['Config'] for m in models
                                               if 'ablations' in m['Config'])


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
