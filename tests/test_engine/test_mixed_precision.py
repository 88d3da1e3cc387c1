"""MixedPrecisionOptimWrapper: the dtype it picks, the steps it skips and
counts, the float16 scale cap, and SkippedStepsHook's log lines."""
import glob
import json
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import RUNNERS

from mcl_mm.engine.optimizers import mixed_precision_optim_wrapper as mp
from conftest import DEMO_CONFIG, IN1K


def _wrapper(dtype, **kwargs):
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3)
    wrapper = build_optim_wrapper(
        model,
        dict(
            type='MixedPrecisionOptimWrapper',
            dtype=dtype,
            optimizer=dict(type='SGD', lr=0.1),
            **kwargs))
    return model, wrapper


def _loss(model, bad=False):
    loss = model(torch.ones(2, 4)).square().sum()
    return loss * float('inf') if bad else loss


def test_auto_is_bfloat16_on_the_cpu_and_on_ampere_or_later(monkeypatch):
    assert mp.bf16_supported('cpu')
    for capability, expected in (((7, 0), False), ((8, 0), True), ((9, 0),
                                                                   True)):
        monkeypatch.setattr(
            torch.cuda, 'get_device_capability', lambda *a, c=capability: c)
        assert mp.bf16_supported('cuda') is expected
    _, wrapper = _wrapper('auto')
    assert wrapper.cast_dtype == torch.bfloat16
    assert wrapper.loss_scaler.get_scale() == 1.0  # no loss scale
    # the shipped GPU configs use it, and build it on a CPU too
    cfg = Config.fromfile(IN1K)
    assert cfg.optim_wrapper.type == 'MixedPrecisionOptimWrapper'
    assert cfg.optim_wrapper.dtype == 'auto'
    with pytest.raises(ValueError, match="dtype must be 'auto'"):
        _wrapper('float64')


def test_a_step_with_non_finite_gradients_is_skipped_and_counted():
    model, wrapper = _wrapper('bfloat16', clip_grad=dict(max_norm=1e6))
    start = model.weight.detach().clone()
    loss = _loss(model)
    grads = torch.autograd.grad(loss, list(model.parameters()))
    norm = float(
        torch.linalg.vector_norm(torch.cat([g.flatten() for g in grads])))
    wrapper.update_params(_loss(model))
    moved = model.weight.detach().clone()
    assert not torch.equal(moved, start)
    wrapper.update_params(_loss(model, bad=True))
    assert torch.equal(model.weight, moved)  # skipped
    wrapper.update_params(_loss(model))
    assert not torch.equal(model.weight, moved)
    stats = wrapper.pop_step_stats()
    assert stats['skipped'] == [0.0, 1.0, 0.0]
    assert stats['grad_norm'][0] == pytest.approx(norm, rel=1e-5)
    assert wrapper.pop_step_stats() == dict(skipped=[], grad_norm=[])


def test_float16_scale_starts_at_and_never_grows_past_its_cap():
    model, wrapper = _wrapper('float16', max_loss_scale=2.0**14)
    assert wrapper.cast_dtype == torch.float16
    scaler = wrapper.loss_scaler
    scaler._growth_interval = 1  # grow after every good step
    assert scaler.get_scale() == 2.0**14
    wrapper.update_params(_loss(model))
    assert scaler.get_scale() == 2.0**14  # capped
    wrapper.update_params(_loss(model, bad=True))
    assert scaler.get_scale() == 2.0**13  # backed off
    for _ in range(3):
        wrapper.update_params(_loss(model))
    assert scaler.get_scale() == 2.0**14
    assert wrapper.pop_step_stats()['skipped'] == [0, 1, 0, 0, 0]


@pytest.mark.slow
def test_skipped_steps_and_grad_norms_reach_the_log(tmp_path, photo_dir):
    """The demo config in bfloat16 mixed precision through its runner, a
    log line every 2 iterations; iteration 3's gradients are made
    infinite."""
    cfg = Config.fromfile(DEMO_CONFIG)
    cfg.merge_from_dict({
        'train_dataloader.dataset.data_root': photo_dir,
        'train_dataloader.num_workers': 0,
        'train_dataloader.persistent_workers': False,
        'train_cfg.max_iters': 4,
        'default_hooks.logger.interval': 2,
        'default_hooks.checkpoint.interval': 100,
        'optim_wrapper.type': 'MixedPrecisionOptimWrapper',
        'optim_wrapper.dtype': 'bfloat16',
    })
    cfg.custom_hooks = [
        h for h in cfg.custom_hooks if h.type != 'DenseProbeHook'
    ]
    cfg.work_dir = str(tmp_path)
    runner = RUNNERS.build(cfg)
    runner.model.backbone.conv1.weight.register_hook(
        lambda g: g * float('inf') if runner.iter == 2 else g)
    runner.train()
    rows = [
        json.loads(line) for line in open(
            glob.glob(
                osp.join(str(tmp_path), '*', 'vis_data', 'scalars.json'))[0])
    ]
    assert [(r['step'], r['skipped_steps']) for r in rows] == [(2, 0), (4, 1)]
    # one grad norm per step, as mmengine's OptimWrapper logs them
    norms = runner.message_hub.get_scalar('train/grad_norm').data[0]
    assert len(norms) == 4 and not math.isfinite(norms[2])
    assert all(math.isfinite(n) for n in norms[[0, 1, 3]])
    log = open(glob.glob(osp.join(str(tmp_path), '*', '*.log'))[0]).read()
    assert 'mixed precision skipped 1 of the 2 optimizer steps of ' \
        'iterations 3-4' in log


def test_train_tool_leaves_out_amp_for_configs_in_mixed_precision():
    """mmpretrain's --amp would swap MixedPrecisionOptimWrapper for
    AmpOptimWrapper (which refuses dtype='auto'); a plain config keeps it."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'train_tool',
        osp.join(osp.dirname(IN1K), '..', '..', 'tools', 'train.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    argv = ['train.py', IN1K, '--amp', '--work-dir', 'w']
    assert tool.drop_redundant_amp(argv) == [
        'train.py', IN1K, '--work-dir', 'w'
    ]
    plain = ['train.py', DEMO_CONFIG, '--amp']
    assert tool.drop_redundant_amp(plain) == plain


def test_without_a_reader_only_the_last_steps_are_kept(monkeypatch):
    monkeypatch.setattr(mp, 'MAX_PENDING', 5)
    model, wrapper = _wrapper('bfloat16', clip_grad=dict(max_norm=1e6))
    for step in range(12):
        wrapper.update_params(_loss(model, bad=step == 11))
    stats = wrapper.pop_step_stats()
    assert stats['skipped'] == [0.0] * 4 + [1.0]
    assert len(stats['grad_norm']) == 5
