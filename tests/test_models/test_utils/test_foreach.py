"""The multi-tensor LARS and target EMA: bit-equal on the CPU to
mmpretrain's ``LARS`` / ``CosineEMA`` they replace, with fewer ops and
no host syncs (each sync stalls a GPU's queue)."""
import copy

import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.logging import MessageHub
from mmengine.optim import build_optim_wrapper
from torch import nn

from benchmarks import op_counts
from mcl_mm.models.utils.foreach_ema import ForeachCosineEMA
from mmpretrain.models.utils import CosineEMA


def _net(extra_layers=0):
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Flatten(),
        nn.Linear(8 * 4 * 4, 6), nn.BatchNorm1d(6), nn.Linear(6, 4),
        *[nn.Linear(4, 4) for _ in range(extra_layers)])
    with torch.no_grad():
        net[4].bias.zero_()  # a zero weight norm: LARS's local_lr = 1
    return net


def _optim_wrapper(net, optimizer_type, **optimizer):
    cfg = dict(
        optimizer={
            **dict(
                type=optimizer_type, lr=0.5, momentum=0.9, weight_decay=1e-4),
            **optimizer
        },
        paramwise_cfg=dict(
            custom_keys={
                'bias': dict(decay_mult=0, lars_exclude=True),
                '1.': dict(decay_mult=0, lars_exclude=True),
            }))
    # a ConfigDict, as the runner passes it: its groups are ConfigDicts too
    return build_optim_wrapper(net, ConfigDict(cfg)).optimizer


def _steps(net, optimizer, n, seed=1):
    gen = torch.Generator().manual_seed(seed)
    for it in range(n):
        for name, p in net.named_parameters():
            if name == '6.bias' and it % 2:
                p.grad = None  # a parameter without a gradient this step
            elif name == '5.weight' and it == 0:
                p.grad = torch.zeros_like(p)  # zero gradient norm
            else:
                p.grad = torch.randn(p.shape, generator=gen)
        optimizer.step()
        optimizer.param_groups[0]['lr'] *= 0.9  # a scheduler at work


@pytest.mark.parametrize('options', [
    dict(),
    dict(nesterov=True),
    dict(dampening=0.1, eta=0.01),
    dict(momentum=0.),
])
def test_foreach_lars_is_bit_equal_to_mmpretrain_lars(options):
    nets, optimizers = {}, {}
    for kind in ('LARS', 'ForeachLARS'):
        nets[kind] = _net()
        optimizers[kind] = _optim_wrapper(nets[kind], kind, **options)
        assert type(optimizers[kind]).__name__ == kind
        _steps(nets[kind], optimizers[kind], 4)
    reference, ours = nets['LARS'].state_dict(
    ), nets['ForeachLARS'].state_dict()
    for k in reference:
        assert torch.equal(reference[k], ours[k]), k
    # the momentum buffers too, so the checkpoints interchange
    states = [o.state_dict()['state'] for o in optimizers.values()]
    assert states[0].keys() == states[1].keys()
    for k in states[0]:
        for name, value in states[0][k].items():
            assert torch.equal(value, states[1][k][name])
    # the parameters did move (the comparison can fail)
    assert not torch.equal(_net().state_dict()['0.weight'], ours['0.weight'])


def test_foreach_lars_resumes_from_a_lars_checkpoint():
    net, ref_net = _net(), _net()
    lars = _optim_wrapper(ref_net, 'LARS')
    _steps(ref_net, lars, 2)
    net.load_state_dict(ref_net.state_dict())
    ours = _optim_wrapper(net, 'ForeachLARS')
    ours.load_state_dict(copy.deepcopy(lars.state_dict()))
    _steps(ref_net, lars, 2, seed=5)
    _steps(net, ours, 2, seed=5)
    for k, v in ref_net.state_dict().items():
        assert torch.equal(v, net.state_dict()[k]), k


def test_a_compiled_foreach_lars_step_gives_the_eager_parameters():
    """mmengine's constructor builds the groups as ``ConfigDict``, and
    dynamo fails on those in an optimizer's step (so mmengine's
    ``compile=True`` failed there); ForeachLARS keeps them as plain dicts."""
    nets = [_net(), _net()]
    eager, compiled = (_optim_wrapper(net, 'ForeachLARS') for net in nets)
    assert all(type(group) is dict for group in compiled.param_groups)
    compiled.step = torch.compile(compiled.step)
    for net, optimizer in zip(nets, (eager, compiled)):
        _steps(net, optimizer, 3)
    moved = 0
    for (k, v), start in zip(nets[0].state_dict().items(),
                             _net().state_dict().values()):
        torch.testing.assert_close(nets[1].state_dict()[k], v, msg=k)
        moved += not torch.equal(v, start)
    assert moved > 0


def test_foreach_lars_steps_without_syncs_in_ops_per_bucket():
    """mmpretrain's LARS runs ops per parameter and syncs; here the ops
    are per bucket of parameters sharing their settings: as many for a
    deeper net."""
    counts = {}
    for kind in ('LARS', 'ForeachLARS'):
        for extra in (0, 6):
            net = _net(extra)
            optimizer = _optim_wrapper(net, kind)
            _steps(net, optimizer, 1)  # the momentum buffers exist
            c = op_counts(optimizer.step)
            counts[kind, extra] = c['ops'] - c['views']  # views: no kernel
            counts[kind, extra, 'syncs'] = c['syncs']
    assert counts['LARS', 0, 'syncs'] > 0
    assert counts['ForeachLARS', 0, 'syncs'] == 0
    assert counts['ForeachLARS', 6, 'syncs'] == 0
    assert counts['ForeachLARS', 6] == counts['ForeachLARS', 0]
    assert counts['LARS', 6] >= counts['LARS', 0] + 5 * 12  # 12 more params
    assert counts['ForeachLARS', 0] < counts['LARS', 0]


def _ema_pair(**kwargs):
    MessageHub.get_current_instance().update_info('max_iters', 7)
    online = _net()
    return online, CosineEMA(online, momentum=0.05, **kwargs), \
        ForeachCosineEMA(online, momentum=0.05, **kwargs)


@pytest.mark.parametrize('kwargs', [dict(), dict(interval=2)])
def test_foreach_ema_is_bit_equal_to_cosine_ema(kwargs):
    online, reference, ours = _ema_pair(**kwargs)
    gen = torch.Generator().manual_seed(3)
    for _ in range(6):
        with torch.no_grad():
            for p in online.parameters():
                p.add_(torch.randn(p.shape, generator=gen))
            online(torch.randn(4, 3, 6, 6, generator=gen))  # BN buffers
        reference.update_parameters(online)
        ours.update_parameters(online)
    assert reference.state_dict().keys() == ours.state_dict().keys()
    for k, v in reference.state_dict().items():
        assert torch.equal(v, ours.state_dict()[k]), k
    # the target trails the online network (the comparison can fail)
    assert not torch.equal(ours.module[0].weight, online[0].weight)
    assert torch.equal(ours.module[1].running_mean, online[1].running_mean)


def test_foreach_ema_never_syncs_after_its_first_update_in_fewer_ops():
    online, reference, ours = _ema_pair()
    assert op_counts(lambda: ours.update_parameters(online))['syncs'] == 1
    reference.update_parameters(online)
    counts = {}
    for name, ema in (('reference', reference), ('ours', ours)):
        c = op_counts(lambda: ema.update_parameters(online))
        counts[name] = c['ops'] - c['views']  # views launch no kernel
        counts[name + ' syncs'] = c['syncs']
    params = len(list(online.parameters()))
    assert counts['reference syncs'] >= params  # the cosine per parameter
    assert counts['ours syncs'] == 0
    assert counts['reference'] >= 3 * params and counts['ours'] <= 8


def test_foreach_ema_counts_on_from_a_loaded_state_dict():
    """A resumed run: the step count on the host follows the loaded
    ``steps`` buffer, and the updates stay those of CosineEMA."""
    online, reference, ours = _ema_pair()
    for _ in range(3):
        reference.update_parameters(online)
        ours.update_parameters(online)
    _, _, resumed = _ema_pair()
    resumed.update_parameters(online)  # its own count starts at 0 ...
    resumed.load_state_dict(ours.state_dict())  # ... then it resumes at 3
    for ema in (reference, ours, resumed):
        ema.update_parameters(online)
    assert int(resumed.steps) == int(reference.steps) == 4
    for key, value in reference.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[key]), key


def test_an_mcl_step_with_both_is_bit_equal_to_stock_lars_and_ema():
    """The demo MCL model (the mini-transfer evidence configs' model),
    three training steps: ForeachLARS + ForeachCosineEMA give exactly the
    online and target weights of mmpretrain's LARS + CosineEMA."""
    from mmengine.registry import init_default_scope

    from benchmarks.step_cost import build, load_config, make_batch
    init_default_scope('mmpretrain')
    MessageHub.get_current_instance().update_info('max_iters', 100)
    states = {}
    for kind in ('LARS', 'ForeachLARS'):
        cfg = load_config(
            'configs/mcl/mcl_r18-fpn_1xb16-96px-s3-100it_demo.py')
        cfg.optim_wrapper.optimizer.type = kind
        torch.manual_seed(0)
        model, optim_wrapper, _ = build(cfg, 'cpu')
        if kind == 'LARS':  # the stock target update
            model.target_net.__class__ = CosineEMA
        assert type(optim_wrapper.optimizer).__name__ == kind
        batch = make_batch(model, 16, 96)
        for it in range(3):
            torch.manual_seed(it)  # the same device augments
            model.train_step(batch, optim_wrapper)
        states[kind] = model.state_dict()
    reference, ours = states['LARS'], states['ForeachLARS']
    assert reference.keys() == ours.keys()
    for k in reference:
        assert torch.equal(reference[k], ours[k]), k
