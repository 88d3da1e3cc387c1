import os.path as osp

import pytest
from mmengine.registry import init_default_scope

import mcl_mm  # noqa: F401
from mcl_mm.utils.demo_data import copy_photos

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO_CONFIG = osp.join(ROOT, 'configs', 'mcl',
                       'mcl_r18-fpn_1xb16-96px-s3-100it_demo.py')


@pytest.fixture(autouse=True)
def _default_scope():
    init_default_scope('mmpretrain')


@pytest.fixture(scope='session')
def photo_dir(tmp_path_factory) -> str:
    """A folder of 8 real photographs (scikit-image's)."""
    out = str(tmp_path_factory.mktemp('photos'))
    copy_photos(out, limit=8)
    return out
