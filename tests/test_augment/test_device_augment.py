"""The photometric view augmentation on the device, against the CPU ops it
replaces (tolerances in grey levels of mean absolute difference)."""
import copy
import glob
import os.path as osp

import mmcv
import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image

from mcl_mm.augment import AUGMENTS, build_augment
from mcl_mm.datasets.transforms import adjust_hue
from mcl_mm.engine import apply_device_augment
from mcl_mm.models.data_preprocessors import MontageDataPreprocessor
from mcl_mm.montage import apply_montage_geometry
from mmpretrain.registry import MODELS, TRANSFORMS
from conftest import DEMO_CONFIG


@pytest.fixture(scope='module')
def photo(photo_dir):
    """A real photo: uint8 BGR (CPU side) and float RGB (device side)."""
    path = sorted(glob.glob(osp.join(photo_dir, '*.png')))[1]
    rgb = np.asarray(Image.open(path).convert('RGB').resize((96, 72)))
    bgr = np.ascontiguousarray(rgb[..., ::-1])
    x = torch.from_numpy(rgb.copy()).permute(2, 0, 1)[None].float()
    return bgr, x


def _diff(device: torch.Tensor, cpu_bgr: np.ndarray) -> float:
    ours = device[0].permute(1, 2, 0).round().clamp(0, 255).numpy()
    return float(np.abs(ours - cpu_bgr[..., ::-1].astype(float)).mean())


JITTER = AUGMENTS.get('ColorJitter')


@pytest.mark.parametrize(
    'op, factor, cpu, tolerance',
    [
        ('brightness', 1.3,
         lambda i, f: mmcv.adjust_brightness(i, f, backend='pillow'), 1.0),
        ('contrast', 0.6,
         lambda i, f: mmcv.adjust_contrast(i, f, backend='pillow'), 1.0),
        ('saturation', 0.5,
         lambda i, f: mmcv.adjust_color(i, alpha=f, backend='pillow'), 1.0),
        # mmcv's adjust_hue with its shift numpy-2-safe (equal on numpy 1:
        # test_cpu_color_jitter.py)
        ('hue', 0.08, lambda i, f: adjust_hue(i, f, backend='pillow'), 1.0),
        ('hue', -0.1, lambda i, f: adjust_hue(i, f, backend='pillow'), 1.0),
    ])
def test_colour_jitter_ops_match_the_pillow_ops(photo, op, factor, cpu,
                                                tolerance):
    bgr, x = photo
    ours = getattr(JITTER, op)(x.clone(), torch.tensor([factor]))
    assert _diff(ours, cpu(bgr, factor)) < tolerance


def test_grayscale_blur_and_solarize_match_the_cpu_ops(photo):
    bgr, x = photo
    weights = (0.114, 0.587, 0.2989)
    cpu = TRANSFORMS.build(
        dict(
            type='RandomGrayscale',
            prob=1.,
            keep_channels=True,
            channel_weights=weights))(dict(img=bgr.copy()))['img']
    grey = build_augment(
        dict(type='RandomGrayscale', prob=1., channel_weights=weights))
    assert _diff(grey(x), cpu) < 1.0  # the CPU op truncates
    for sigma in (0.5, 1.2, 2.0):
        cpu = TRANSFORMS.build(
            dict(type='GaussianBlur', radius=sigma,
                 prob=1.))(dict(img=bgr.copy()))['img']
        blur = build_augment(
            dict(type='GaussianBlur', magnitude_range=(sigma, sigma), prob=1.))
        # Pillow approximates the Gaussian by box filters
        assert _diff(blur(x), cpu) < 1.0, sigma
    cpu = TRANSFORMS.build(dict(type='Solarize', thr=128,
                                prob=1.))(dict(img=bgr.copy()))['img']
    solarize = build_augment(dict(type='Solarize', thr=128, prob=1.))
    assert _diff(solarize(x), cpu) == 0


def test_every_copy_draws_its_own_parameters(photo):
    _, x = photo
    torch.manual_seed(0)
    jitter = build_augment(
        dict(
            type='ColorJitter',
            brightness=0.4,
            contrast=0.4,
            saturation=0.2,
            hue=0.1,
            prob=1.))
    copies = jitter(x.repeat(4, 1, 1, 1))
    for i in range(4):
        for j in range(i + 1, 4):
            assert (copies[i] - copies[j]).abs().mean() > 0.5
    blur = build_augment(
        dict(type='GaussianBlur', magnitude_range=(0.1, 2.0), prob=1.))
    blurred = blur(x.repeat(2, 1, 1, 1))
    assert (blurred[0] - blurred[1]).abs().mean() > 0.05


def test_colour_jitter_applies_each_images_ops_in_its_own_order():
    """The batched selects against the ops run one image at a time, in the
    order drawn for that image. Random colours near both ends of the range:
    there the order matters (clamping, hue against the grey blends)."""
    torch.manual_seed(2)
    batch = torch.rand(12, 3, 16, 16) * 255
    jitter = JITTER(brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1)
    factors, order = jitter.draw(12, batch.device)
    ops = (JITTER.brightness, JITTER.contrast, JITTER.saturation, JITTER.hue)

    def in_order(i, ks):
        one = batch[i:i + 1]
        for k in ks:
            one = ops[k](one, factors[k][i:i + 1])
        return one

    # the order matters on these images
    assert (in_order(0,
                     (0, 1, 2, 3)) - in_order(0,
                                              (3, 2, 1, 0))).abs().mean() > 1
    assert len({tuple(o) for o in order.tolist()}) > 1
    got = jitter.apply_ops(batch.clone(), factors, order)
    for i in range(12):
        torch.testing.assert_close(got[i:i + 1],
                                   in_order(i, order[i].tolist()))


@pytest.mark.parametrize('cfg, prob', [
    (dict(type='Solarize', thr=128, prob=0.2), 0.2),
    (dict(
        type='RandomGrayscale',
        prob=0.2,
        channel_weights=(0.114, 0.587, 0.2989)), 0.2),
    (dict(type='ColorJitter', brightness=0.4, prob=0.8), 0.8),
    (dict(type='GaussianBlur', magnitude_range=(0.1, 2.0), prob=0.1), 0.1),
])
def test_probabilities_over_many_draws(cfg, prob):
    torch.manual_seed(1)
    n = 4000
    # a coloured ramp: every op changes it when applied
    ramp = torch.linspace(10, 240, 16)
    x = torch.stack([
        ramp.view(1, 16).expand(16, 16),
        ramp.view(16, 1).expand(16, 16),
        torch.full((16, 16), 60.)
    ])[None].repeat(n, 1, 1, 1)
    out = build_augment(cfg)(x)
    changed = ((out - x).abs().flatten(1).amax(1) > 1e-3).float().mean()
    bound = 4 * (prob * (1 - prob) / n)**0.5  # 4 standard deviations
    assert abs(float(changed) - prob) < bound


def test_runner_moves_the_photometric_steps_and_keeps_the_rest():
    cfg = apply_device_augment(
        apply_montage_geometry(Config.fromfile(DEMO_CONFIG)))
    assembly = cfg.train_dataloader.dataset.pipeline[1]
    for pipeline in assembly.transforms:
        assert [t['type']
                for t in pipeline] == ['RandomResizedCrop', 'RandomFlip']
    a, b = cfg.model.data_preprocessor.augments
    assert [t['type'] for t in a] == [
        'ColorJitter', 'RandomGrayscale', 'GaussianBlur', 'Solarize'
    ]
    assert [t['prob'] for t in a] == [0.8, 0.2, 1.0, 0.0]
    assert [t['prob'] for t in b] == [0.8, 0.2, 0.1, 0.2]
    assert a[0]['hue'] == 0.1 and a[1]['channel_weights'] == (0.114, 0.587,
                                                              0.2989)
    # a config this already ran on (what a run dumps into its work dir, and
    # a resumed run reads) keeps its augments
    again = apply_device_augment(copy.deepcopy(cfg))
    assert again.model.data_preprocessor.augments == [a, b]
    assert again.train_dataloader == cfg.train_dataloader
    # one switch keeps the authors' CPU recipe
    cpu = Config.fromfile(DEMO_CONFIG)
    cpu.merge_from_dict({'data_preprocessor.augment_on_device': False})
    apply_device_augment(cpu)
    assert len(cpu.train_dataloader.dataset.pipeline[1].transforms[0]) == 6


def test_cpu_switch_under_the_documented_model_key_builds():
    """``--cfg-options model.data_preprocessor.augment_on_device=False``
    on a config whose preprocessor is top-level: mmengine's Runner would
    take the type-less override alone (SelfSupDataPreprocessor, which has
    no such argument); it is merged into the top-level one instead."""
    cfg = Config.fromfile(DEMO_CONFIG)
    assert 'data_preprocessor' not in cfg.model
    top = copy.deepcopy(cfg.data_preprocessor)
    cfg.merge_from_dict({'model.data_preprocessor.augment_on_device': False})
    apply_device_augment(apply_montage_geometry(cfg))
    assert cfg.model.data_preprocessor == dict(top, augment_on_device=False)
    assert len(cfg.train_dataloader.dataset.pipeline[1].transforms[0]) == 6
    pre = MODELS.build(cfg.model).data_preprocessor
    assert type(pre) is MontageDataPreprocessor and not pre.augment_on_device


def test_preprocessor_keeps_view_order_and_augments_in_training_only():
    mean, std = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]
    pre = MontageDataPreprocessor(
        augments=[[dict(type='Solarize', thr=0, prob=1.)], []],
        mean=mean,
        std=std,
        to_rgb=True)
    views = [
        torch.randint(0, 256, (2, 3, s, s), dtype=torch.uint8) for s in (16, 8)
    ] * 2  # A_0, A_1, B_0, B_1
    train = pre(dict(inputs=views, data_samples=None), True)['inputs']
    evaluation = pre(dict(inputs=views, data_samples=None))['inputs']
    m, s = torch.tensor(mean).view(1, 3, 1,
                                   1), torch.tensor(std).view(1, 3, 1, 1)
    for k, v in enumerate(views):
        rgb = v[:, [2, 1, 0]].float()
        torch.testing.assert_close(evaluation[k], (rgb - m) / s)
        # view A (levels 0 and 1) inverted, view B untouched
        expected = 255 - rgb if k < 2 else rgb
        torch.testing.assert_close(train[k], (expected - m) / s)


def test_augments_run_in_float32_under_the_optimisers_autocast():
    """mmengine's train_step runs the data preprocessor inside the AMP
    optimiser's autocast: the augments must neither fail on mixed dtypes
    nor lose precision (the same images as without autocast)."""
    pre = MontageDataPreprocessor(
        augments=[[
            dict(type='GaussianBlur', magnitude_range=(1., 2.), prob=1.),
            dict(type='ColorJitter', brightness=0.4, prob=0.5)
        ]],
        mean=[0., 0., 0.],
        std=[1., 1., 1.])
    views = [torch.randint(0, 256, (4, 3, 16, 16), dtype=torch.uint8)]
    torch.manual_seed(0)
    plain = pre(dict(inputs=views, data_samples=None), True)['inputs'][0]
    torch.manual_seed(0)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        amp = pre(dict(inputs=views, data_samples=None), True)['inputs'][0]
    assert amp.dtype == torch.float32
    torch.testing.assert_close(amp, plain)
