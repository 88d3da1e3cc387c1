"""model.montage is the one source of the geometry: the model follows it at
build time, the pipeline through MontageRunner / apply_montage_geometry."""
import glob
import os.path as osp
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
from mmcv.transforms import Compose
from mmengine.config import Config
from mmengine.registry import RUNNERS

from mcl_mm.engine import (MontageBatchCheckHook, MontageRunner,
                           apply_montage_geometry)
from mmpretrain.registry import MODELS, TRANSFORMS
from conftest import DEMO_CONFIG, ROOT

MCL_CONFIGS = sorted(
    glob.glob(osp.join(ROOT, 'configs', 'mcl', '**', '*.py'), recursive=True))


def test_every_shipped_montage_config_uses_the_montage_runner():
    assert MCL_CONFIGS
    for path in MCL_CONFIGS:
        assert Config.fromfile(path).runner_type == 'MontageRunner', path
    # training scripts build the runner with no default scope set
    assert RUNNERS.get('MontageRunner') is MontageRunner


@pytest.mark.parametrize('path', MCL_CONFIGS, ids=osp.basename)
def test_one_override_sets_two_levels_everywhere(path):
    cfg = Config.fromfile(path)
    cfg.merge_from_dict({
        'model.montage.scales': (1, 2),
        'model.montage.resolution': 64
    })
    apply_montage_geometry(cfg)
    assembly = cfg.train_dataloader.dataset.pipeline[1]
    assert assembly.num_levels == 2
    if assembly.tile_sizes is not None:
        assert assembly.tile_sizes == [64, 32]
    model_cfg = cfg.model
    model_cfg.setdefault('data_preprocessor', cfg.get('data_preprocessor'))
    model = MODELS.build(model_cfg)
    assert model.tiler.scales == (1, 2)
    assert model.head.num_levels == 2
    assert len(model.pyramid_outputs) == 2
    # the pipeline makes what the model takes
    pipeline = Compose([TRANSFORMS.build(assembly)])
    views = pipeline(
        dict(img=np.zeros((80, 90, 3), np.uint8), img_shape=(80, 90)))['img']
    num_pipelines = len(assembly.transforms)
    assert len(views) == 2 * num_pipelines  # x 2 levels
    model.split_views(views, num_pipelines)  # refuses any other count


def test_the_authors_full_size_copies_stay_full_size():
    cfg = Config.fromfile(DEMO_CONFIG)
    cfg.train_dataloader.dataset.pipeline[1].tile_sizes = None
    cfg.model.montage.scales = (1, 2)
    apply_montage_geometry(cfg)
    assembly = cfg.train_dataloader.dataset.pipeline[1]
    assert assembly.num_levels == 2 and assembly.tile_sizes is None


def test_a_config_without_montage_is_left_alone():
    cfg = Config(
        dict(
            model=dict(type='BYOL'),
            train_dataloader=dict(
                dataset=dict(pipeline=[
                    dict(
                        type='MontageAssembly',
                        num_levels=1,
                        tile_sizes=(96, ))
                ]))))
    apply_montage_geometry(cfg)
    assert cfg.train_dataloader.dataset.pipeline[0].tile_sizes == (96, )


def test_batch_check_refuses_a_pipeline_the_model_does_not_take():
    cfg = Config.fromfile(DEMO_CONFIG)  # geometry not applied: 4 levels
    tiler = MODELS.build(cfg.model.montage)
    pipeline = Compose(cfg.train_dataloader.dataset.pipeline)
    dataset = SimpleNamespace(pipeline=pipeline)
    with pytest.raises(
            ValueError,
            match=r'MontageAssembly\(num_levels=4.*'
            r'does not match model.montage.*MontageRunner'):
        MontageBatchCheckHook.check_assembly(dataset, tiler)
    apply_montage_geometry(cfg)
    MontageBatchCheckHook.check_assembly(
        SimpleNamespace(
            pipeline=Compose(cfg.train_dataloader.dataset.pipeline)), tiler)


@pytest.mark.slow
def test_train_tool_trains_two_levels_from_one_override(tmp_path, photo_dir):
    cmd = [
        sys.executable,
        osp.join(ROOT, 'tools', 'train.py'), DEMO_CONFIG, '--work-dir',
        str(tmp_path), '--cfg-options', 'model.montage.scales=(1,2)',
        f'train_dataloader.dataset.data_root={photo_dir}',
        'train_cfg.max_iters=2', 'default_hooks.logger.interval=1',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False'
    ]
    proc = subprocess.run(
        cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    log = proc.stdout + proc.stderr
    assert "'num_levels': 2, 'tile_sizes': [96, 48]" in log
    assert 'loss_l1' in log and 'loss_l2' not in log
    dumped = Config.fromfile(str(tmp_path / osp.basename(DEMO_CONFIG)))
    assert dumped.train_dataloader.dataset.pipeline[1].num_levels == 2
