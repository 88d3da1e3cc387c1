"""model.montage is the one source of the geometry: the model follows it at
build time, the pipeline through MontageRunner / apply_montage_geometry."""
import copy
import glob
import os.path as osp
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmcv.transforms import Compose
from mmengine.config import Config
from mmengine.registry import RUNNERS

from mcl_mm.engine import (MontageBatchCheckHook, MontageRunner,
                           apply_device_augment)
from mcl_mm.montage import apply_montage_geometry, view_index
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


def _blurs(transforms) -> list:
    """The built GaussianBlur steps of a Compose, also inside
    RandomApply."""
    found = []
    for t in transforms:
        if type(t).__name__ == 'GaussianBlur':
            found.append(t)
        found += _blurs(getattr(t, 'transforms', []))
    return found


def _sizes_and_blur(cfg: Config, on_device: bool):
    """Per view pipeline and level, the crop size and the blur sigma range
    of a run of ``cfg``, built as the runner builds it: the CPU workers'
    MontageAssembly, and on the device the model's data preprocessor with
    the augments the runner moved there."""
    cfg = copy.deepcopy(cfg)
    pre = cfg.model.get('data_preprocessor') or cfg.data_preprocessor
    if pre.type == 'MontageDataPreprocessor':
        cfg.merge_from_dict(
            {'model.data_preprocessor.augment_on_device': on_device})
    else:  # no augments to move: the CPU path only
        on_device = False
    cfg = apply_device_augment(apply_montage_geometry(cfg))
    assembly = TRANSFORMS.build(cfg.train_dataloader.dataset.pipeline[1])
    model = MODELS.build(cfg.model) if on_device else None
    levels = len(cfg.model.montage.scales)
    out = []
    for p in range(len(assembly.num_views)):
        views = [
            assembly.transforms[view_index(p, i, levels)]
            for i in range(levels)
        ]
        sizes = [
            t.scale[0] for v in views for t in v.transforms
            if type(t).__name__ == 'RandomResizedCrop'
        ]
        if on_device:
            assert not any(_blurs(v.transforms) for v in views)
            # a config without photometric steps moves none
            augments = cfg.model.data_preprocessor.get('augments') or [[]]
            blur = [t for t in augments[p] if t['type'] == 'GaussianBlur']
            copies = [torch.zeros(1, 3, s, s) for s in sizes]
            scales = model.data_preprocessor.blur_scales(copies)
            ranges = [
                tuple(x * f for x in blur[0]['magnitude_range'])
                for f in scales
            ] if blur else [None] * levels
        else:
            ranges = []
            for v in views:
                blur = _blurs(v.transforms)
                ranges.append(tuple(blur[0].magnitude_range) if blur else None)
        out.append(list(zip(sizes, ranges)))
    return out, model


def _expected(cfg: Config, resolution: int, scales: tuple):
    """Each level's crop is its tile, resolution / r_i, and its sigma range
    the view pipeline's times tile / resolution (computed here from the
    config, not by the project's geometry)."""
    out = []
    for pipeline in cfg.train_dataloader.dataset.pipeline[1].transforms:
        blur = [
            t for step in pipeline
            for t in [step] + list(step.get('transforms', []))
            if t['type'] == 'GaussianBlur'
        ]
        levels = []
        for r in scales:
            tile = resolution // r
            levels.append(
                (tile,
                 tuple(x * tile / resolution
                       for x in blur[0]['magnitude_range']) if blur else None))
        out.append(levels)
    return out


# one override of model.montage alone, on a config of each family
OVERRIDDEN = [(path, override) for path in [
    DEMO_CONFIG,
    osp.join(ROOT, 'configs', 'mcl',
             'mcl_r50-c4_32xb128-amp-coslr-100e_in1k.py'),
    osp.join(ROOT, 'configs', 'mcl', 'supervised',
             'mcl-sup_r50-fpn_8xb32-90e_in1k.py')
] for override in [
    dict(resolution=64, scales=(1, 2)),
    dict(resolution=128, scales=(1, 2, 4, 8))
]]

# the demo and the overrides are fast; each R50 / Swin build takes seconds
SHIPPED = [
    pytest.param(p, None, marks=() if p == DEMO_CONFIG else pytest.mark.slow)
    for p in MCL_CONFIGS
]


@pytest.mark.parametrize(
    'path, override',
    SHIPPED + OVERRIDDEN,
    ids=lambda x: osp.basename(x) if isinstance(x, str) else str(x))
def test_cpu_and_device_paths_crop_and_blur_alike(path, override):
    """Both paths give every level the crop size and the blur sigma range
    of model.montage, for the shipped config (the demo is 96 px) and when
    only model.montage changes; the model, tiler and preprocessor follow
    it too."""
    cfg = Config.fromfile(path)
    if override:
        cfg.merge_from_dict({
            f'model.montage.{k}': v
            for k, v in override.items()
        })
    montage = cfg.model.montage
    expected = _expected(cfg, montage.resolution, tuple(montage.scales))
    cpu, _ = _sizes_and_blur(cfg, on_device=False)
    device, model = _sizes_and_blur(cfg, on_device=True)
    if model is None:  # no device augments: the model follows the montage
        model = MODELS.build(apply_montage_geometry(cfg).model)
    for got in (cpu, device):
        assert len(got) == len(expected)
        for levels, want in zip(got, expected):
            assert [s for s, _ in levels] == [s for s, _ in want]
            for (_, r), (_, w) in zip(levels, want):
                assert (r is None) == (w is None)
                if r is not None:
                    np.testing.assert_allclose(r, w, rtol=1e-12)
    levels = len(montage.scales)
    assert model.tiler.scales == tuple(montage.scales)
    assert [model.tiler.tile_size(i) for i in range(levels)] == \
        [s for s, _ in expected[0]]
    if hasattr(model.data_preprocessor, 'geometry'):
        assert model.data_preprocessor.geometry == model.tiler.geometry
    assert model.head.num_levels == levels
    assert len(model.pyramid_outputs) == levels


def test_demo_blur_at_96_px_is_the_full_size_blur_at_level_0():
    """The 96 px demo, augments on the CPU: level 0 blurs with the view
    pipeline's own sigma range (0.1, 2.0), levels 1 and 2 with 1/2 and
    1/4 of it."""
    cfg = Config.fromfile(DEMO_CONFIG)
    cpu, _ = _sizes_and_blur(cfg, on_device=False)
    assert cpu[0] == [(96, (0.1, 2.0)), (48, (0.05, 1.0)), (24, (0.025, 0.5))]


def test_the_authors_full_size_copies_stay_full_size():
    cfg = Config.fromfile(DEMO_CONFIG)
    cfg.train_dataloader.dataset.pipeline[1].full_size_copies = True
    cfg.model.montage.scales = (1, 2)
    for on_device in (False, True):
        got, _ = _sizes_and_blur(cfg, on_device)
        # every copy at the montage resolution, blurred at full size
        assert got[0] == [(96, (0.1, 2.0)), (96, (0.1, 2.0))]


def test_a_config_without_montage_keeps_its_geometry():
    geometry = dict(resolution=96, scales=(1, ))
    cfg = Config(
        dict(
            model=dict(type='BYOL'),
            train_dataloader=dict(
                dataset=dict(
                    pipeline=[dict(type='MontageAssembly', geometry=geometry)
                              ]))))
    apply_montage_geometry(cfg)
    assert cfg.train_dataloader.dataset.pipeline[0].geometry == geometry


@pytest.mark.parametrize('key', ['num_levels', 'tile_sizes'])
def test_a_pipeline_that_states_sizes_is_refused(key):
    cfg = Config.fromfile(DEMO_CONFIG)
    cfg.train_dataloader.dataset.pipeline[1][key] = None
    with pytest.raises(ValueError, match=f'{key} .*Remove'):
        apply_montage_geometry(cfg)


def test_batch_check_refuses_a_pipeline_the_model_does_not_take():
    cfg = Config.fromfile(DEMO_CONFIG)
    tiler = MODELS.build(cfg.model.montage)
    cfg.train_dataloader.dataset.pipeline[1].geometry = dict(
        resolution=96, scales=(1, 2, 4, 8))
    pipeline = Compose(cfg.train_dataloader.dataset.pipeline)
    dataset = SimpleNamespace(pipeline=pipeline)
    with pytest.raises(
            ValueError,
            match=r'MontageAssembly\(geometry=.*\(1, 2, 4, 8\).*'
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
    assert "MontageAssembly follows model.montage: geometry={'resolution': " \
        "96, 'scales': (1, 2)" in log
    assert 'loss_l1' in log and 'loss_l2' not in log
    dumped = Config.fromfile(str(tmp_path / osp.basename(DEMO_CONFIG)))
    assert tuple(
        dumped.train_dataloader.dataset.pipeline[1].geometry.scales) == (1, 2)
