import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope

import mcl_mm  # noqa: F401
from benchmarks.demo_data import copy_photos

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO_CONFIG = osp.join(ROOT, 'configs', 'mcl',
                       'mcl_r18-fpn_1xb16-96px-s3-100it_demo.py')
IN1K = osp.join(ROOT, 'configs', 'mcl',
                'mcl_r50-fpn_32xb128-amp-coslr-100e_in1k.py')


@pytest.fixture(autouse=True)
def _default_scope():
    init_default_scope('mmpretrain')


@pytest.fixture(scope='session')
def photo_dir(tmp_path_factory) -> str:
    """A folder of 8 real photographs (scikit-image's)."""
    out = str(tmp_path_factory.mktemp('photos'))
    copy_photos(out, limit=8)
    return out


@pytest.fixture(scope='session')
def mcl_ckpt(tmp_path_factory):
    """A freshly built R50-FPN MCL model (S=4) and its checkpoint file."""
    from mmpretrain.registry import MODELS
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    cfg = Config.fromfile(IN1K)
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    model.init_weights()
    # non-trivial BN statistics, so that copying them is checked too
    for name, buf in model.named_buffers():
        if 'running_mean' in name:
            buf.normal_()
    path = str(tmp_path_factory.mktemp('mcl') / 'mcl.pth')
    # saved as the shipped config trains (channels-last); compared in the
    # default format, as the targets compute (the sums of the other format
    # differ by 1e-4 relative after 50 layers)
    torch.save(dict(state_dict=model.state_dict(), meta=dict(iter=1)), path)
    model.to(memory_format=torch.contiguous_format)
    return model.eval(), path
