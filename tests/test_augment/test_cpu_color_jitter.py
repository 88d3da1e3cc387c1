"""The CPU ``ColorJitter`` mcl_mm registers in mmpretrain's place: its hue
step against mmcv 2.1.0's ``adjust_hue`` on real photos (bit for bit on
numpy 1), the transform against mmpretrain's (same draws, same images),
and the hue step under numpy 2's rule for ``np.uint8`` (a value outside
[0, 255] is an error), emulated here because the project's environment
pins numpy < 2. The tests without ``numpy_1_only`` run on numpy 2 itself
where it is installed (Pillow's hue shift through a table of Python
integers is the reference there)."""
import glob
import os.path as osp

import mmcv
import mmcv.image.photometric
import numpy as np
import pytest
from mmcv.transforms import RandomApply
from mmengine.config import Config
from PIL import Image

import mcl_mm.datasets.transforms.color_jitter as cpu_jitter
from mcl_mm.augment import apply_device_augment
from mcl_mm.datasets.transforms import ColorJitter, adjust_hue, hue_shift
from mcl_mm.montage import apply_montage_geometry, assemblies
from mmpretrain.datasets.transforms import ColorJitter as MMPretrainJitter
from mmpretrain.registry import TRANSFORMS
from conftest import DEMO_CONFIG

NUMPY_2 = int(np.__version__.split('.')[0]) >= 2
numpy_1_only = pytest.mark.skipif(
    NUMPY_2, reason="mmcv 2.1.0's adjust_hue fails on numpy 2")
FACTORS = np.linspace(-0.5, 0.5, 41)  # steps of 0.025, 0 and both ends


@pytest.fixture(scope='module')
def photos(photo_dir):
    """8 real photos, 128 x 96: uint8 BGR, as the pipeline holds them."""
    return [
        np.ascontiguousarray(
            np.asarray(Image.open(p).convert('RGB').resize(
                (128, 96)))[..., ::-1])
        for p in sorted(glob.glob(osp.join(photo_dir, '*')))[:8]
    ]


class StrictUint8(np.uint8):
    """``np.uint8`` refusing a number outside [0, 255], as numpy 2 refuses
    a Python number there (numpy 1 wraps it)."""

    def __new__(cls, value=0):
        if not isinstance(value, np.ndarray) and not 0 <= value <= 255:
            raise OverflowError(f'{value} out of bounds for uint8')
        return np.uint8(value)


class StrictNumpy:
    """numpy with :class:`StrictUint8` as ``uint8``."""

    uint8 = StrictUint8

    def __getattr__(self, name):
        return getattr(np, name)


@numpy_1_only
def test_hue_shift_is_numpy_1s_uint8_of_the_scaled_factor():
    for factor in np.linspace(-0.5, 0.5, 20001):
        for value in (factor, float(factor)):
            assert hue_shift(value) == int(np.uint8(value * 255))
    # a negative shift wraps: -0.09 * 255 = -22.95 -> -22 -> 234
    assert hue_shift(-0.09) == 234


@numpy_1_only
@pytest.mark.parametrize('backend', ['pillow', 'cv2'])
def test_adjust_hue_equals_mmcv_bit_for_bit(photos, backend):
    for bgr in photos:
        for factor in FACTORS:
            ours = adjust_hue(bgr, float(factor), backend=backend)
            theirs = mmcv.adjust_hue(bgr, float(factor), backend=backend)
            assert ours.dtype == theirs.dtype == np.uint8
            assert np.array_equal(ours, theirs), (backend, factor)


@pytest.mark.parametrize('backend', ['pillow', 'cv2'])
def test_adjust_hue_builds_no_out_of_range_uint8(photos, backend, monkeypatch):
    monkeypatch.setattr(mmcv.image.photometric, 'np', StrictNumpy())
    # the emulation catches mmcv's negative shift...
    with pytest.raises(OverflowError):
        mmcv.adjust_hue(photos[0], -0.1, backend=backend)
    # ...and none in ours
    monkeypatch.setattr(cpu_jitter, 'np', StrictNumpy())
    with np.errstate(all='raise'):
        for factor in FACTORS:
            out = adjust_hue(photos[0], float(factor), backend=backend)
            assert out.shape == photos[0].shape


def test_adjust_hue_is_pillows_hue_shift_by_a_wrapped_integer(photos):
    """Pillow's HSV hue channel shifted through a lookup table of Python
    integers (no numpy arithmetic): runs on numpy 1 and 2 alike."""
    for bgr in photos:
        rgb = Image.fromarray(np.ascontiguousarray(bgr[..., ::-1]))
        h, s, v = rgb.convert('HSV').split()
        for factor in FACTORS:
            shift = int(factor * 255)  # towards zero, as numpy 1's uint8
            hue = h.point(lambda x: (x + shift) % 256)
            expected = np.asarray(
                Image.merge('HSV', (hue, s, v)).convert('RGB'))[..., ::-1]
            assert np.array_equal(adjust_hue(bgr, float(factor)), expected)


def test_color_jitter_is_registered_in_mmpretrains_place():
    assert TRANSFORMS.get('ColorJitter') is ColorJitter
    step = RandomApply([dict(type='ColorJitter', hue=0.1)], prob=0.8)
    assert type(step.transforms.transforms[0]) is ColorJitter


@numpy_1_only
def test_color_jitter_gives_mmpretrains_draws_and_images(photos):
    args = dict(brightness=0.4, contrast=0.4, saturation=0.2, hue=0.5)
    ours, theirs = ColorJitter(**args), MMPretrainJitter(**args)
    for seed in range(24):
        bgr = photos[seed % len(photos)]
        np.random.seed(seed)
        expected = theirs(dict(img=bgr.copy()))['img']
        state = np.random.get_state()
        np.random.seed(seed)
        got = ours(dict(img=bgr.copy()))['img']
        assert np.array_equal(got, expected), seed
        assert np.array_equal(np.random.get_state()[1], state[1])
        assert np.random.get_state()[2] == state[2]


def test_demo_cpu_path_runs_under_numpy_2s_uint8_rule(photos, monkeypatch):
    """The demo's view pipelines with ``augment_on_device=False`` hold this
    ColorJitter and run with numpy 2's rule on the CPU; mmcv's hue step
    anywhere in them would raise."""
    cfg = Config.fromfile(DEMO_CONFIG)
    cfg.merge_from_dict({'model.data_preprocessor.augment_on_device': False})
    cfg = apply_device_augment(apply_montage_geometry(cfg))
    assembly = TRANSFORMS.build(assemblies(cfg.train_dataloader)[0])
    jitters = [
        inner for view in assembly.transforms for step in view.transforms
        if isinstance(step, RandomApply)
        for inner in step.transforms.transforms
        if isinstance(inner, MMPretrainJitter)
    ]
    assert jitters and all(type(j) is ColorJitter for j in jitters)
    monkeypatch.setattr(mmcv.image.photometric, 'np', StrictNumpy())
    monkeypatch.setattr(cpu_jitter, 'np', StrictNumpy())
    for seed in range(4):
        np.random.seed(seed)
        out = assembly(dict(img=photos[seed].copy()))
        assert out is not None
