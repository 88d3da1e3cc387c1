"""A compiled MCL loss (``torch.compile`` of the model's ``loss``: the
backbone, pyramid, tile head, target and per-level loss of one step) gives
the eager losses (within 1e-4) and the first layer's gradient (within 1 %
in relative norm); the data preprocessor is compiled once, not once per
batch of new data samples.

mmengine's ``compile=True`` compiles the whole ``train_step``, optimiser
step included: with ``ForeachLARS`` it runs (the compiled optimiser step
is tested in ``tests/test_models/test_utils/test_foreach.py``; what dynamo
does with the step: docs/en/performance.md).
"""
import copy

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.model import revert_sync_batchnorm
from torch._dynamo.testing import CompileCounter

from mcl_mm.engine import apply_device_augment
from mcl_mm.montage import apply_montage_geometry
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample
from conftest import DEMO_CONFIG


@pytest.mark.slow  # inductor compiles forward and backward: minutes on a CPU
def test_compiled_loss_gives_the_eager_losses_and_gradients():
    MessageHub.get_current_instance().update_info('max_iters', 100)
    cfg = apply_device_augment(
        apply_montage_geometry(Config.fromfile(DEMO_CONFIG)))
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.setdefault('data_preprocessor', cfg.get('data_preprocessor'))
    model_cfg.montage.resolution = 64
    torch.manual_seed(0)
    eager = revert_sync_batchnorm(MODELS.build(model_cfg))
    eager.init_weights()
    compiled = copy.deepcopy(eager)
    compiled.loss = torch.compile(compiled.loss)
    views = [torch.randn(16, 3, 64 >> i, 64 >> i) for i in (0, 1, 2, 0, 1, 2)]
    results = []
    for model in (eager, compiled):
        torch.manual_seed(1)  # the tiler's permutations
        losses = model.loss([v.clone() for v in views], None)
        total = sum(v for k, v in losses.items() if k.startswith('loss'))
        total.backward()
        results.append((losses, model.backbone.conv1.weight.grad.clone()))
    (eager_losses, eager_grad), (compiled_losses, compiled_grad) = results
    for key, value in eager_losses.items():
        if key.startswith('loss'):
            assert compiled_losses[key].item() == pytest.approx(
                value.item(), rel=1e-4), key
    # the first layer's gradient, relative norm of the difference: 5.4e-3
    # measured (inductor's fused reductions; BN in train mode on 16 images)
    difference = (compiled_grad - eager_grad).norm() / eager_grad.norm()
    assert difference < 1e-2


def test_the_preprocessor_compiles_once_for_batches_of_new_samples():
    """Each batch brings new data samples; tracing their copy would guard
    on their metainfo strings and compile the preprocessor (augments
    included) anew every step. Counted with dynamo's frame counter: the
    first step fills the augments' layout cache, so the second compiles
    once more (a guard on that cache); from then on nothing."""
    cfg = apply_device_augment(
        apply_montage_geometry(Config.fromfile(DEMO_CONFIG)))
    pre = MODELS.build(
        cfg.model.get('data_preprocessor') or cfg.data_preprocessor)
    torch._dynamo.reset()
    counter = CompileCounter()
    forward = torch.compile(pre.forward, backend=counter)
    frames = []
    for step in range(4):
        views = [
            torch.randint(0, 256, (4, 3, s, s), dtype=torch.uint8)
            for s in (32, 16, 8) * 2
        ]
        samples = [
            DataSample(metainfo=dict(img_path=f'{step}_{i}.jpg'))
            for i in range(4)
        ]
        out = forward(dict(inputs=views, data_samples=samples), True)
        assert [s.img_path for s in out['data_samples']
                ] == [f'{step}_{i}.jpg' for i in range(4)]
        assert [v.shape for v in out['inputs']] == [v.shape for v in views]
        frames.append(counter.frame_count)
    assert frames[0] > 0
    assert frames[2:] == frames[1:2] * 2, frames
