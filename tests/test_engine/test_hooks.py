"""FreezeByNameHook and NonFiniteLossHook as units, on a stand-in runner."""
import warnings
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from mcl_mm.engine import FreezeByNameHook, NonFiniteLossHook


class _Model(nn.Module):

    def __init__(self):
        super().__init__()
        self.prototypes = nn.Linear(2, 2)
        self.correlation = nn.Linear(2, 2)
        self.backbone = nn.Linear(2, 2)


def _runner(model, it):
    return SimpleNamespace(model=model, iter=it, work_dir='work_dirs/x')


def test_freeze_by_name_keeps_each_key_frozen_for_its_own_iterations():
    model = _Model()
    hook = FreezeByNameHook(dict(prototypes=3, correlation=1))

    def trainable(it):
        hook.before_train_iter(_runner(model, it), it)
        return {n: p.requires_grad for n, p in model.named_parameters()}

    at0 = trainable(0)
    assert not at0['prototypes.weight'] and not at0['prototypes.bias']
    assert not at0['correlation.weight'] and at0['backbone.weight']
    at1 = trainable(1)
    assert not at1['prototypes.weight'] and at1['correlation.weight']
    assert all(trainable(3).values())
    # a frozen parameter gets no update from a real optimizer step
    hook.before_train_iter(_runner(model, 0), 0)
    before = model.prototypes.weight.detach().clone()
    other = model.backbone.weight.detach().clone()
    optim = torch.optim.SGD(model.parameters(), lr=1.)
    x = torch.ones(1, 2)
    (model.prototypes(x) + model.backbone(x)).sum().backward()
    optim.step()
    assert torch.equal(model.prototypes.weight, before)
    assert not torch.equal(model.backbone.weight, other)


def test_non_finite_loss_stops_naming_the_iteration_and_terms():
    hook = NonFiniteLossHook()
    w = torch.ones(1, requires_grad=True)
    outputs = dict(
        loss_l0=(w * float('nan')).sum(),
        loss_l1=w.sum() * 2,
        pos_cos_l0=torch.tensor(float('inf')))
    with pytest.raises(
            FloatingPointError,
            match=r'iteration 8: loss_l0=nan\. .*work_dirs/x'):
        hook.after_train_iter(_runner(None, 7), 0, outputs=outputs)
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # no requires_grad scalar warning
        hook.after_train_iter(
            _runner(None, 7),
            0,
            outputs=dict(loss=w.sum(), acc=torch.tensor(0.5)))
    # only every interval-th iteration is checked
    sparse = NonFiniteLossHook(interval=4)
    sparse.after_train_iter(_runner(None, 0), 0, outputs=outputs)
    with pytest.raises(FloatingPointError):
        sparse.after_train_iter(_runner(None, 3), 0, outputs=outputs)
