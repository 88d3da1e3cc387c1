"""Collapse metrics and the dense probe, against independent
computations; the probe hook leaves training untouched."""
import glob
import json
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from benchmarks.mini_transfer_arms import arm_config
from mcl_mm.evaluation.dense_probe import (ProbeSet, dense_probe, pixel_miou,
                                           region_knn)
from mcl_mm.evaluation.probe_model import probe_net_from_file
from mcl_mm.models import collapse_metrics
from mcl_mm.utils.coins_data import make_coins_dataset
from mmpretrain.registry import MODELS
from conftest import DEMO_CONFIG, ROOT


def test_collapse_metrics_of_collapsed_and_spread_embeddings():
    same = torch.randn(1, 16).expand(64, 16)
    m = collapse_metrics(same)
    assert float(m['std']) == pytest.approx(0, abs=1e-5)
    assert float(m['erank']) == pytest.approx(1, abs=1e-5)
    torch.manual_seed(0)
    m = collapse_metrics(torch.randn(8192, 16))
    assert float(m['std']) == pytest.approx(1, abs=0.03)
    assert 15 < float(m['erank']) <= 16
    # two directions only: rank 2
    two = torch.cat([torch.randn(500, 2), torch.zeros(500, 14)], 1)
    assert float(collapse_metrics(two)['erank']) < 2.05
    # a diverged step gives nan, not an error (NonFiniteLossHook reports it)
    broken = collapse_metrics(torch.full((4, 8), float('nan')))
    assert torch.isnan(broken['std']) and torch.isnan(broken['erank'])


def _labels(n=4, size=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    labels = torch.zeros(n, size, size, dtype=torch.long)
    for i in range(n):
        for c in (1, 2):
            y, x = torch.randint(0, size - 6, (2, ), generator=g).tolist()
            labels[i, y:y + 6, x:x + 6] = c
    return labels


def test_pixel_probe_reads_label_features_and_not_constant_ones():
    labels = _labels()
    encoded = torch.nn.functional.one_hot(labels, 3).permute(0, 3, 1,
                                                             2).float()
    encoded = encoded + 0.05 * torch.randn_like(encoded)
    assert pixel_miou(encoded, labels, split=3, num_classes=2) > 0.95
    constant = torch.ones(4, 8, 16, 16)
    chance = pixel_miou(constant, labels, split=3, num_classes=2)
    background = float((labels[3] == 0).float().mean())
    # all pixels predicted background: only that class has an IoU
    assert chance == pytest.approx(background / 3, abs=1e-6)


def test_region_knn_picks_the_category_on_separable_features():
    size, n = 64, 4
    maps = torch.zeros(n, 2, size // 4, size // 4)
    boxes = []
    for i in range(n):
        maps[i, 0, :, :8] = 1.0  # category 1 lives on the left half
        maps[i, 1, :, 8:] = 1.0  # category 2 on the right half
        boxes.append(
            torch.tensor([[4., 8., 24., 40., 1.], [40., 8., 60., 40., 2.]]))
    assert region_knn(dict(p2=maps), boxes, split=2, image_size=size) == 1.0
    swapped = [b[:, [0, 1, 2, 3, 4]].clone() for b in boxes]
    for b in swapped[2:]:
        b[:, 4] = 3 - b[:, 4]  # test labels swapped: every match is wrong
    assert region_knn(dict(p2=maps), swapped, split=2, image_size=size) == 0


@pytest.fixture(scope='module')
def coins(tmp_path_factory):
    return make_coins_dataset(str(tmp_path_factory.mktemp('coins')))


def test_probe_leaves_parameters_buffers_and_modes_alone(coins):
    torch.manual_seed(0)
    cfg = Config.fromfile(DEMO_CONFIG)
    cfg.model.setdefault('data_preprocessor', cfg.data_preprocessor)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    model.tile_head.eval()  # a mixed state must come back as it was
    before = {k: v.clone() for k, v in model.state_dict().items()}
    modes = {n: m.training for n, m in model.named_modules()}
    probe = ProbeSet(coins['ann_file'], coins['images'], size=96)
    results = dense_probe(model, probe, steps=20)
    assert {'miou_c5', 'miou_p3', 'miou_p4', 'miou_p5',
            'miou_all'} == set(results)
    assert all(0 <= v <= 1 for v in results.values())
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert {n: m.training for n, m in model.named_modules()} == modes


def test_offline_probe_rebuilds_mcl_and_byol_checkpoints(coins, tmp_path):
    from mmengine.registry import init_default_scope
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    rows = {}
    for name, path in (('mcl', DEMO_CONFIG), ('byol', None)):
        cfg = arm_config('byol') if path is None else Config.fromfile(path)
        model = MODELS.build(cfg.model)
        model.init_weights()
        ckpt = str(tmp_path / f'{name}.pth')
        torch.save(dict(state_dict=model.state_dict()), ckpt)
        net, source = probe_net_from_file(ckpt)
        # the rebuilt network holds the checkpoint's online weights
        assert torch.equal(net.backbone.layer3[1].conv2.weight,
                           model.backbone.layer3[1].conv2.weight)
        rows[name] = (source,
                      sorted(
                          dense_probe(
                              net,
                              ProbeSet(coins['ann_file'], coins['images'], 96),
                              steps=10)))
    assert rows['mcl'] == ('mcl_mm', [
        'miou_all', 'miou_c5', 'miou_p3', 'miou_p4', 'miou_p5'
    ])
    assert rows['byol'] == ('backbone', ['miou_all', 'miou_c5'])


def _run(tmp_path, name, probe, photo_dir):
    work = tmp_path / name
    options = [
        f'train_dataloader.dataset.data_root={photo_dir}',
        'train_cfg.max_iters=4', 'default_hooks.logger.interval=2',
        'default_hooks.checkpoint.interval=4',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False'
    ]
    cfg = Config.fromfile(DEMO_CONFIG)
    hooks = [h for h in cfg.custom_hooks if h.type != 'DenseProbeHook']
    if probe:
        hooks.append(
            dict(
                type='DenseProbeHook',
                ann_file=probe['ann_file'],
                img_dir=probe['images'],
                size=96,
                interval=2,
                steps=20))
    cfg.custom_hooks = hooks
    path = str(tmp_path / f'{name}.py')
    cfg.dump(path)
    proc = subprocess.run([
        sys.executable,
        osp.join(ROOT, 'tools', 'train.py'), path, '--work-dir',
        str(work), '--cfg-options', *options
    ],
                          cwd=ROOT,
                          capture_output=True,
                          text=True,
                          timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    return work, proc.stdout + proc.stderr


@pytest.mark.slow
def test_probe_hook_logs_and_leaves_training_bit_identical(
        tmp_path, coins, photo_dir):
    plain, _ = _run(tmp_path, 'plain', None, photo_dir)
    probed, log = _run(tmp_path, 'probed', coins, photo_dir)
    assert 'dense probe after iteration 2' in log
    assert 'dense probe after iteration 4' in log
    rows = [
        json.loads(line) for line in open(
            glob.glob(str(probed / '*' / 'vis_data' / 'scalars.json'))[0])
    ]
    probes = [r for r in rows if 'dense_probe/miou_p5' in r]
    assert [r['step'] for r in probes] == [2, 4]
    assert any('std_l2' in r and 'erank_l0' in r for r in rows)
    a = torch.load(str(plain / 'iter_4.pth'), weights_only=True)
    b = torch.load(str(probed / 'iter_4.pth'), weights_only=True)
    for key, value in a['state_dict'].items():
        assert torch.equal(value, b['state_dict'][key]), key


def test_collapse_hook_logs_a_stock_byol_neck():
    from types import SimpleNamespace

    from mmengine.logging import MessageHub
    from mmengine.registry import init_default_scope

    from mcl_mm.engine import CollapseMetricsHook
    init_default_scope('mmpretrain')
    cfg = arm_config('byol')
    model = MODELS.build(cfg.model)
    model.init_weights()
    hub = MessageHub.get_instance('collapse_hook_test')
    runner = SimpleNamespace(
        model=model, message_hub=hub, hooks=[], train_dataloader=range(10))
    hook = CollapseMetricsHook(interval=2, module='neck')
    hook.before_train(runner)
    views = [torch.rand(8, 3, 32, 32) * 255 for _ in range(2)]
    data = model.data_preprocessor(dict(inputs=views, data_samples=None), True)
    MessageHub.get_current_instance().update_info('max_iters', 10)
    # iteration 1 does not log (interval 2): nothing kept, nothing logged
    hook.before_train_iter(runner, 0)
    model.loss(data['inputs'], None)
    assert not hook._outputs
    hook.after_train_iter(runner, 0)
    assert 'train/std' not in hub.log_scalars
    hook.before_train_iter(runner, 1)
    model.loss(data['inputs'], None)
    captured = torch.cat(hook._outputs)
    assert captured.shape == (16, 64)  # both online views, not the target
    hook.after_train_iter(runner, 1)
    ref = collapse_metrics(captured)
    assert hub.get_scalar('train/std').current() == pytest.approx(
        float(ref['std']))
    assert hub.get_scalar('train/erank').current() == pytest.approx(
        float(ref['erank']))
    hook.after_train(runner)
    assert not model.neck._forward_hooks
