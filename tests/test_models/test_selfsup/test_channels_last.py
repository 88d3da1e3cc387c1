"""``model.channels_last``: a training step gives the loss and gradients of
the default memory format, for MCL (both forwards), SS-PRL and MaskCo built
from their shipped configs; a checkpoint saved with it loads without it,
and converts to the same files."""
import copy
import glob
import os.path as osp

import pytest
import torch
from mmcv.transforms import Compose
from mmengine.config import Config
from mmengine.dataset import default_collate
from mmengine.model import revert_sync_batchnorm

from benchmarks.step_cost import load_config, make_batch
from mcl_mm.converters.conversion import convert_file
from mcl_mm.models.utils import is_channels_last
from mmpretrain.registry import MODELS, TRANSFORMS
from conftest import DEMO_CONFIG, IN1K, ROOT

SSPRL = osp.join(ROOT, 'configs', 'ssprl',
                 'ssprl_r50_4xb32-amp-lars-coslr-200e_coco.py')
MASKCO = osp.join(ROOT, 'configs', 'maskco',
                  'maskco_r50_8xb32-coslr-200e_in1k.py')


def _step(model_cfg, channels_last: bool, batch: dict):
    """Loss and gradients of one training forward/backward, in float64:
    float32 sums in another order differ by up to a few % here (batch norm
    over the few cells of the coarse montages amplifies them), float64 ones
    by 1e-13."""
    model_cfg = copy.deepcopy(model_cfg)
    model_cfg.channels_last = channels_last
    torch.manual_seed(0)
    model = revert_sync_batchnorm(MODELS.build(model_cfg))
    model.init_weights()  # the same draws in both formats
    assert is_channels_last(model) == channels_last
    model.double()
    model.data_preprocessor.float()  # its augments run in float32
    torch.manual_seed(1)  # the same device augments
    data = model.data_preprocessor(copy.deepcopy(batch), True)
    images = data['inputs'] if isinstance(data['inputs'],
                                          list) else [data['inputs']]
    assert all(
        x.is_contiguous(memory_format=torch.channels_last) == channels_last
        or x.shape[-1] == 1 for x in images)
    images = [x.double() for x in images]  # keeps the memory format
    inputs = images if isinstance(data['inputs'], list) else images[0]
    for sample in data['data_samples'] or []:  # MaskCo's boxes: RoIAlign
        for key in ('mask_box', 'key_boxes'):  # wants the features' dtype
            if key in sample:
                sample.set_field(sample.get(key).double(), key)
    losses = model(inputs, data['data_samples'], mode='loss')
    loss = sum(v for k, v in losses.items() if k.startswith('loss'))
    loss.backward()
    grads = {
        n: p.grad.clone()
        for n, p in model.named_parameters() if p.grad is not None
    }
    return loss.detach(), grads


def _assert_same_step(model_cfg, batch):
    loss, grads = _step(model_cfg, False, batch)
    loss_cl, grads_cl = _step(model_cfg, True, batch)
    assert torch.allclose(loss, loss_cl, rtol=1e-12, atol=0)
    assert grads.keys() == grads_cl.keys() and grads
    # a bias before a batch norm has a zero gradient, in rounding noise
    largest = max(float(g.abs().max()) for g in grads.values())
    for name, grad in grads.items():
        assert torch.allclose(
            grad, grads_cl[name], rtol=1e-9, atol=1e-12 * largest), name


@pytest.mark.parametrize('forward_mode', ['tiles', 'authors'])
def test_mcl_step_is_the_same_in_channels_last(forward_mode):
    cfg = load_config(DEMO_CONFIG)  # the runner's config functions
    cfg.model.forward_mode = forward_mode
    cfg.model.setdefault('data_preprocessor', cfg.data_preprocessor)
    model = MODELS.build(cfg.model)
    batch = make_batch(model, 16, 96)
    _assert_same_step(cfg.model, batch)


def _photo_batch(cfg, photo_dir, size=None):
    pipeline = copy.deepcopy(cfg.train_pipeline)
    if size:
        pipeline[1]['size'] = size
    transform = Compose([TRANSFORMS.build(t) for t in pipeline])
    photos = sorted(glob.glob(osp.join(photo_dir, '*')))
    torch.manual_seed(0)
    return default_collate([transform(dict(img_path=p)) for p in photos[:4]])


@pytest.mark.slow
def test_ssprl_step_is_the_same_in_channels_last(photo_dir):
    cfg = Config.fromfile(SSPRL)
    assert cfg.model.channels_last  # on in the shipped GPU config
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.backbone.depth = 18
    for neck in model_cfg.necks:
        neck.in_channels = 512
    _assert_same_step(model_cfg, _photo_batch(cfg, photo_dir))


@pytest.mark.slow
def test_maskco_step_is_the_same_in_channels_last(photo_dir):
    """Its RoIAlign (mmcv's) reads NCHW: the features go in contiguous."""
    cfg = Config.fromfile(MASKCO)
    assert cfg.model.channels_last
    _assert_same_step(cfg.model, _photo_batch(cfg, photo_dir, size=96))


def test_a_channels_last_checkpoint_loads_and_converts_as_the_default(
        tmp_path):
    """The R50-FPN GPU config (channels-last on): its checkpoint loads into
    the same model without the switch, and converts to mmdet byte for byte
    as the same weights saved in the default format."""
    cfg = Config.fromfile(IN1K)
    assert cfg.model.channels_last
    files = {}
    for channels_last in (True, False):
        cfg.model.channels_last = channels_last
        torch.manual_seed(0)
        model = revert_sync_batchnorm(MODELS.build(cfg.model))
        model.init_weights()
        path = str(tmp_path / f'cl{channels_last}.pth')
        torch.save(dict(state_dict=model.state_dict()), path)
        files[channels_last] = path
    saved = torch.load(files[True], weights_only=True)['state_dict']
    assert saved['backbone.conv1.weight'].is_contiguous(
        memory_format=torch.channels_last)
    assert not saved['backbone.conv1.weight'].is_contiguous()
    model.load_state_dict(saved)  # the last one built: the default format
    assert model.backbone.conv1.weight.is_contiguous()
    default = torch.load(files[False], weights_only=True)['state_dict']
    for key, value in default.items():
        assert torch.equal(value, saved[key]), key
    out = {}
    for channels_last, path in files.items():
        # the same file name: torch.save writes it into the archive
        (tmp_path / str(channels_last)).mkdir()
        out[channels_last] = str(tmp_path / str(channels_last) / 'mmdet.pth')
        convert_file(path, out[channels_last], 'mmdet')
    with open(out[True], 'rb') as a, open(out[False], 'rb') as b:
        assert a.read() == b.read()
