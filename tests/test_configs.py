"""Every shipped config parses, inherits at most three ``_base_`` levels
and builds its model through the registries of its default scope, as the
runner it names would build it."""
import ast
import glob
import importlib.util
import os.path as osp
import runpy
from typing import List

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from mcl_mm.engine import MontageRunner
from mcl_mm.montage import assemblies
from mmpretrain.registry import TRANSFORMS
from conftest import ROOT

MAX_BASE_LEVELS = 3
# the model as the runner builds it (count_params.py's, which the docs'
# parameter counts come from)
BUILD_MODEL = runpy.run_path(
    osp.join(ROOT, 'tools', 'analysis_tools',
             'count_params.py'))['build_model']
# the mini-transfer arms are built and compared by test_mini_transfer.py
NOT_HERE = osp.join(ROOT, 'configs', 'benchmarks', 'mini_transfer')
CONFIGS = sorted(
    p for p in glob.glob(
        osp.join(ROOT, 'configs', '**', '*.py'), recursive=True)
    if f'{osp.sep}_base_{osp.sep}' not in p and not p.startswith(NOT_HERE))


@pytest.fixture(autouse=True, scope='module')
def _one_thread():
    """Building a model runs many small ops: on one thread, no worker
    threads wait on busy CPUs."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _config_id(path: str) -> str:
    return osp.relpath(path, osp.join(ROOT, 'configs'))


def base_files(path: str) -> List[str]:
    """The files named by the ``_base_`` of a config file, read from its
    source: relative paths from the file's folder, ``package::path`` from
    the package's ``.mim/configs`` (the OpenMMLab packages' layout).

    Args:
        path (str): A config file.

    Returns:
        List[str]: The base files, in the order the config names them.
    """
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    names = []
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == '_base_'
                for t in node.targets):
            value = ast.literal_eval(node.value)
            names = [value] if isinstance(value, str) else list(value)
    files = []
    for name in names:
        if '::' in name:
            package, rel = name.split('::')
            spec = importlib.util.find_spec(package)
            root = spec.submodule_search_locations[0]
            files.append(osp.join(root, '.mim', 'configs', rel))
        else:
            files.append(osp.normpath(osp.join(osp.dirname(path), name)))
    return files


def base_levels(path: str) -> int:
    """The number of ``_base_`` levels above a config: 0 without a base, 1
    when its bases have none, and so on (the deepest chain, bases of other
    packages included).

    Args:
        path (str): A config file.

    Returns:
        int: The number of levels.
    """
    levels = 0
    for base in base_files(path):
        assert osp.isfile(base), f'{path}: no base file {base}'
        levels = max(levels, 1 + base_levels(base))
    return levels


def test_the_configs_are_found():
    assert len(CONFIGS) > 40
    assert osp.join(ROOT, 'configs', 'mcl', 'mcl_r50-fpn_32xb128-amp-'
                    'coslr-100e_in1k.py') in CONFIGS


def test_base_levels_are_counted_through_every_base(tmp_path):
    """A chain of four files is three levels, whichever base of a list
    holds the deepest chain; another package's bases count too."""
    (tmp_path / 'a.py').write_text('x = 1\n')
    (tmp_path / 'b.py').write_text("_base_ = './a.py'\n")
    (tmp_path / 'c.py').write_text("_base_ = ['./a.py', './b.py']\n")
    (tmp_path / 'd.py').write_text("_base_ = ['./a.py', 'c.py']\n")
    assert [base_levels(str(tmp_path / f'{n}.py'))
            for n in 'abcd'] == [0, 1, 2, 3]
    # mmpretrain's default_runtime.py has no base: one level
    runtime = 'mmpretrain::_base_/default_runtime.py'
    (tmp_path / 'e.py').write_text(f"_base_ = '{runtime}'\n")
    assert base_levels(str(tmp_path / 'e.py')) == 1
    (tmp_path / 'f.py').write_text("_base_ = ['./e.py', './d.py']\n")
    assert base_levels(str(tmp_path / 'f.py')) == 4


@pytest.mark.parametrize('path', CONFIGS, ids=_config_id)
def test_config_parses_within_three_base_levels(path):
    Config.fromfile(path)
    assert base_levels(path) <= MAX_BASE_LEVELS


MONTAGE_CONFIGS = [
    p for p in CONFIGS
    if Config.fromfile(p).get('runner_type') == 'MontageRunner'
]


@pytest.mark.parametrize('path', MONTAGE_CONFIGS, ids=_config_id)
def test_montage_config_crops_on_a_gpu(path):
    """Every montage config as the runner prepares it on a GPU
    (``crop_on_device`` forced on, as ``'auto'`` resolves there): its
    assemblies build and draw boxes, its loader pads the images."""
    cfg = Config.fromfile(path)
    cfg.merge_from_dict({'model.data_preprocessor.crop_on_device': True})
    cfg = MontageRunner.prepare_config(cfg)
    assert cfg.model.data_preprocessor.crop_on_device is True
    assert cfg.train_dataloader.collate_fn.type == 'pad_collate'
    found = assemblies(cfg.train_dataloader)
    assert found
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        for assembly in found:
            built = TRANSFORMS.build(assembly)
            boxes = built.draw_boxes(np.zeros((375, 500, 3), np.uint8))
            assert boxes.shape == (len(built.transforms), 5)


@pytest.mark.slow  # seconds per R50 / Swin model
@pytest.mark.parametrize('path', CONFIGS, ids=_config_id)
def test_config_builds_its_model_in_its_default_scope(path):
    """The model as the runner builds it: MontageRunner first gives the
    pipeline the montage geometry and moves the photometric steps (and on
    a GPU the crops) to the device; mmengine's Runner then adds the
    top-level data preprocessor and builds in the config's default scope.
    Weights are not initialised (no pre-trained files are read)."""
    model = BUILD_MODEL(path)
    cfg = Config.fromfile(path)
    assert type(model).__name__ == cfg.model.type.rpartition('.')[2]
    assert sum(p.numel() for p in model.parameters()) > 1e6
