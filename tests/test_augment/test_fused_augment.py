"""The fused device augments (FusedAugment, the preprocessor's default)
against the Pillow ops of the CPU pipeline, on real photos: each op and the
whole chain at fixed parameters (mean absolute difference in grey levels),
the probabilities and ranges over many draws, and the properties the
formulation rests on."""
import glob
import math
import os.path as osp

import mmcv
import numpy as np
import pytest
import torch
from PIL import Image, ImageFilter

from mcl_mm.augment import FusedAugment, build_augment
from mcl_mm.datasets.transforms import adjust_hue
from mcl_mm.models.data_preprocessors import MontageDataPreprocessor
from mmpretrain.registry import TRANSFORMS

JITTER_OPS = ('brightness', 'contrast', 'saturation', 'hue')
GREY_WEIGHTS = (0.114, 0.587, 0.2989)  # BGR, as the configs give them


@pytest.fixture(scope='module')
def photos(photo_dir):
    """8 real photos, 96 x 72: uint8 RGB."""
    return [
        np.asarray(Image.open(p).convert('RGB').resize((96, 72)))
        for p in sorted(glob.glob(osp.join(photo_dir, '*')))[:8]
    ]


def byol_pipeline(jitter_prob=0.8,
                  grey_prob=0.2,
                  blur_prob=0.5,
                  solarize_prob=0.2,
                  **jitter) -> list:
    """BYOL's device steps (``ColorJitter`` ranges from ``jitter``; the
    probabilities of view B's blur and solarize are between 0 and 1, so
    :func:`draws_for` turns each on or off)."""
    ranges = dict(brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1)
    ranges.update(jitter)
    return [
        dict(type='ColorJitter', prob=jitter_prob, **ranges),
        dict(
            type='RandomGrayscale',
            prob=grey_prob,
            channel_weights=GREY_WEIGHTS),
        dict(type='GaussianBlur', magnitude_range=(0.1, 2.0), prob=blur_prob),
        dict(type='Solarize', thr=128, prob=solarize_prob),
    ]


def fused(*pipelines) -> FusedAugment:
    return FusedAugment([[build_augment(t) for t in p] for p in pipelines])


def forced(module: FusedAugment, draws: torch.Tensor) -> FusedAugment:
    """``module`` with its next draws fixed (rows repeat over images)."""
    module.draw = lambda n, device: draws.expand(n, -1).to(device)
    return module


def draws_for(
        factors=(1., 1., 1., 0.),
        order=(0, 1, 2, 3),
        grey=False,
        sigma=None,
        solarize=False) -> torch.Tensor:
    """The draws making BYOL's pipeline apply jitter ``factors`` in
    ``order``, then grey, blur with ``sigma`` and solarize as asked."""
    low = torch.tensor([0.6, 0.6, 0.8, -0.1])
    span = torch.tensor([0.8, 0.8, 0.4, 0.2])
    u_factors = (torch.tensor(factors) - low) / span
    keys = torch.empty(4)
    keys[list(order)] = torch.arange(4.) / 4 + 0.1
    u_sigma = 0. if sigma is None else (sigma - 0.1) / 1.9
    return torch.cat([
        u_factors,
        torch.tensor([0.]), keys,
        torch.tensor([0. if grey else 0.99]),
        torch.tensor([u_sigma, 0. if sigma is not None else 0.99]),
        torch.tensor([0. if solarize else 0.99])
    ])[None]


def run(module: FusedAugment, rgb: np.ndarray) -> np.ndarray:
    """One photo through ``module``: float RGB, H x W x 3."""
    x = torch.from_numpy(rgb.copy()).permute(2, 0, 1)[None]
    return module([x])[0][0].permute(1, 2, 0).numpy()


def mad(ours: np.ndarray, cpu_rgb: np.ndarray) -> float:
    """Mean absolute difference to a uint8 result, ours rounded to 8 bits
    as the CPU ops' output is."""
    return float(
        np.abs(ours.round().clip(0, 255) - cpu_rgb.astype(float)).mean())


def pillow_jitter(rgb: np.ndarray, op: str, factor: float) -> np.ndarray:
    """mmpretrain's ColorJitter ops (mmcv, Pillow backend) on RGB."""
    bgr = np.ascontiguousarray(rgb[..., ::-1])
    if op == 'brightness':
        out = mmcv.adjust_brightness(bgr, factor, backend='pillow')
    elif op == 'contrast':
        out = mmcv.adjust_contrast(bgr, factor, backend='pillow')
    elif op == 'saturation':
        out = mmcv.adjust_color(bgr, alpha=factor, backend='pillow')
    else:
        out = adjust_hue(bgr, factor, backend='pillow')
    return np.ascontiguousarray(out[..., ::-1])


def pillow_grey(rgb: np.ndarray) -> np.ndarray:
    bgr = np.ascontiguousarray(rgb[..., ::-1])
    out = TRANSFORMS.build(
        dict(
            type='RandomGrayscale',
            prob=1.,
            keep_channels=True,
            channel_weights=GREY_WEIGHTS))(dict(img=bgr))['img']
    return np.ascontiguousarray(out[..., ::-1])


def pillow_blur(rgb: np.ndarray, sigma: float) -> np.ndarray:
    return np.asarray(
        Image.fromarray(rgb).filter(ImageFilter.GaussianBlur(radius=sigma)))


def pillow_solarize(rgb: np.ndarray) -> np.ndarray:
    return np.where(rgb >= 128, 255 - rgb, rgb).astype(np.uint8)


@pytest.mark.parametrize('op, factor', [('brightness', 1.3),
                                        ('brightness', 0.6), ('contrast', 0.6),
                                        ('contrast', 1.4), ('saturation', 0.8),
                                        ('saturation', 1.2)])
def test_each_linear_jitter_op_matches_pillow(photos, op, factor):
    factors = [1., 1., 1., 0.]
    factors[JITTER_OPS.index(op)] = factor
    module = forced(fused(byol_pipeline()), draws_for(factors))
    for rgb in photos:
        assert mad(run(module, rgb), pillow_jitter(rgb, op, factor)) < 1.0


# the hue rotation about the grey axis against Pillow's HSV hue shift, by
# shift: the bound per photo and on the mean over the 8 photos (measured:
# means 1.0-1.2 at 0.02 turn, 2.2-2.4 at 0.05, 2.1-4.8 at 0.1; the most
# saturated photo 3.9-4.4, 8.1-9.3 and 7.3-18.7)
HUE_BOUNDS = {0.02: (5., 1.5), 0.05: (11., 3.), 0.1: (22., 6.)}


@pytest.mark.parametrize('shift', [0.02, -0.02, 0.05, -0.05, 0.1, -0.1])
def test_hue_rotation_stays_within_its_stated_bound_of_pillow(photos, shift):
    module = forced(fused(byol_pipeline()), draws_for((1., 1., 1., shift)))
    diffs = [
        mad(run(module, rgb), pillow_jitter(rgb, 'hue', shift))
        for rgb in photos
    ]
    per_photo, mean = HUE_BOUNDS[abs(shift)]
    assert max(diffs) < per_photo and np.mean(diffs) < mean, diffs


def test_hue_rotation_keeps_grey_and_luminance_order():
    """Rotation about the grey axis: greys stay, a full turn is the
    identity, and two shifts compose."""
    module = fused(byol_pipeline())
    greys = torch.arange(0, 256, 5.).view(1, 1, -1, 1).repeat(1, 3, 1, 2)
    forced(module, draws_for((1., 1., 1., 0.1)))
    torch.testing.assert_close(module([greys])[0], greys)
    colours = torch.rand(1, 3, 8, 8) * 200 + 20
    maps = []
    for shift in (0.03, 0.05, 0.08):
        forced(module, draws_for((1., 1., 1., shift)))
        maps.append(module([colours])[0])
    # rotating by 0.03 and then 0.05 turn is rotating by 0.08
    forced(module, draws_for((1., 1., 1., 0.05)))
    torch.testing.assert_close(
        module([maps[0]])[0], maps[2], atol=1e-3, rtol=0)


def test_grey_blur_and_solarize_match_the_cpu_ops(photos):
    for rgb in photos:
        grey = forced(fused(byol_pipeline()), draws_for(grey=True))
        assert mad(run(grey, rgb), pillow_grey(rgb)) < 1.0  # CPU truncates
        for sigma in (0.15, 0.4, 0.8, 1.2, 1.7, 2.0):
            blur = forced(fused(byol_pipeline()), draws_for(sigma=sigma))
            assert mad(run(blur, rgb), pillow_blur(rgb, sigma)) < 1.0, sigma
        solarize = forced(fused(byol_pipeline()), draws_for(solarize=True))
        assert mad(run(solarize, rgb), pillow_solarize(rgb)) == 0


def test_blur_keeps_pillows_detail_below_a_pixel_too(photos):
    """Pillow's extended boxes keep the variance sigma^2 also below a pixel,
    where a sampled Gaussian hardly blurs: the fused blur's detail (mean
    squared Laplacian over the photos) is within 7 % of Pillow's at sigma
    0.2-0.8 (measured 0.94-0.98: Pillow rounds to 8 bits after each of its
    six box passes, which undoes part of a small blur; kornia's sampled
    Gaussian of the per-op path: 0.84-1.31)."""

    def detail(img):
        img = np.asarray(img, dtype=float)
        lap = (4 * img[1:-1, 1:-1] - img[:-2, 1:-1] - img[2:, 1:-1] -
               img[1:-1, :-2] - img[1:-1, 2:])
        return float((lap**2).mean())

    for sigma in (0.2, 0.3, 0.4, 0.6, 0.8):
        ours = pillows = 0.
        for rgb in photos:
            module = forced(fused(byol_pipeline()), draws_for(sigma=sigma))
            ours += detail(run(module, rgb))
            pillows += detail(pillow_blur(rgb, sigma))
        assert abs(ours / pillows - 1) < 0.07, (sigma, ours / pillows)


CHAIN_ORDERS = [(1, 0, 3, 2), (0, 2, 1, 3), (3, 1, 2, 0)]
# the chain's bound per photo and on the mean over the photos: without hue
# 1 grey level per op (7 ops; measured per photo up to 5.9, where
# brightness 1.3 clips highlights before contrast 0.7 pulls them down in
# Pillow), with hue 0.05 the rotation's difference on top (measured up to
# 9.7)
CHAIN_BOUNDS = {0.: (7., 3.), 0.05: (12., 4.5)}


@pytest.mark.parametrize('order', CHAIN_ORDERS)
@pytest.mark.parametrize('hue', [0., 0.05])
def test_whole_chain_matches_the_pillow_chain(photos, order, hue):
    """Jitter in a drawn order, grey, blur, solarize, against Pillow's ops
    one after the other (each rounded and clamped). Without hue the chain
    differs by rounding and by Pillow's clamping between ops; with hue the
    rotation's difference adds."""
    factors = (1.3, 0.7, 0.6, hue)
    per_photo, mean = CHAIN_BOUNDS[hue]
    for grey, solarize in ((False, False), (True, True)):
        module = forced(
            fused(byol_pipeline()),
            draws_for(factors, order, grey, 1.2, solarize))
        diffs = []
        for rgb in photos:
            cpu = rgb
            for k in order:
                cpu = pillow_jitter(cpu, JITTER_OPS[k], factors[k])
            if grey:
                cpu = pillow_grey(cpu)
            cpu = pillow_blur(cpu, 1.2)
            if solarize:
                cpu = pillow_solarize(cpu)
            diffs.append(mad(run(module, rgb), cpu))
        assert max(diffs) < per_photo and np.mean(diffs) < mean, diffs


def _visible(module: FusedAugment, image: torch.Tensor, n: int) -> list:
    """Per pipeline, which of ``n`` copies of ``image`` came out changed."""
    views = [image.expand(n, -1, -1, -1).clone() for _ in range(2)]
    return [(out - image).abs().flatten(1).amax(1) > 1e-3
            for out in module(views)]


@pytest.mark.parametrize('step, prob, image', [
    (dict(type='ColorJitter', brightness=0.4),
     (0.8, 0.3), torch.full((1, 3, 4, 4), 100.)),
    (dict(type='RandomGrayscale', channel_weights=GREY_WEIGHTS), (0.2, 0.6),
     torch.tensor([20., 120., 220.]).view(1, 3, 1, 1).expand(1, 3, 4, 4)),
    (dict(type='GaussianBlur', magnitude_range=(0.5, 2.0)),
     (1.0, 0.1), torch.eye(8).repeat(1, 3, 1, 1) * 200),
    (dict(type='Solarize', thr=128), (0.0, 0.2), torch.full(
        (1, 3, 4, 4), 200.)),
])
def test_probabilities_over_many_draws(step, prob, image):
    """Each pipeline applies a step with its own probability (binomial
    bounds, 4 standard deviations over 4000 copies)."""
    torch.manual_seed(0)
    module = fused(*[[dict(step, prob=p)] for p in prob])
    n = 4000
    for applied, p in zip(_visible(module, image, n), prob):
        assert abs(applied.float().mean().item() -
                   p) <= 4 * math.sqrt(p * (1 - p) / n) + 1e-9, (step, p)


def test_jitter_factors_cover_their_ranges():
    """Brightness factors (a constant image scaled) fill [0.6, 1.4]
    uniformly: quartiles within 0.02 of a uniform's."""
    torch.manual_seed(0)
    module = fused([dict(type='ColorJitter', brightness=0.4, prob=1.)])
    out = module([torch.full((4000, 3, 2, 2), 100.)])[0]
    factors = out[:, 0, 0, 0] / 100
    quartiles = torch.quantile(factors, torch.tensor([0., .25, .5, .75, 1.]))
    torch.testing.assert_close(
        quartiles, torch.tensor([0.6, 0.8, 1.0, 1.2, 1.4]), atol=0.02, rtol=0)


def test_every_copy_draws_its_own_parameters():
    """The same image in both pipelines and every level, many times: no
    two copies come out alike."""
    torch.manual_seed(0)
    module = fused(byol_pipeline(), byol_pipeline())
    image = torch.rand(1, 3, 16, 16) * 255
    views = [
        torch.nn.functional.interpolate(
            image, size=(s, s), mode='area').expand(6, -1, -1, -1).clone()
        for s in (16, 8, 4)
    ] * 2
    out = module(views)
    for v in out:
        flat = v.flatten(1)
        assert torch.cdist(flat, flat).add(torch.eye(6) * 1e9).min() > 1e-3


def test_bgr_input_and_the_identity_recipe():
    """With every probability 0 the output is the input in RGB float,
    exactly, from uint8 BGR or RGB views of three levels; a BGR view gives
    what its RGB twin gives under the same draws."""
    views = [
        torch.randint(0, 256, (3, 3, s, s), dtype=torch.uint8)
        for s in (16, 8, 4)
    ] * 2
    off = byol_pipeline(0., 0., 0., 0.)
    module = fused(off, off)
    for v, out in zip(views, module(views, bgr=True)):
        assert out.dtype == torch.float32
        assert out.equal(v[:, [2, 1, 0]].float())
    module = fused(byol_pipeline(), byol_pipeline(blur_prob=1.))
    torch.manual_seed(1)
    from_bgr = module([v[:, [2, 1, 0]] for v in views], bgr=True)
    torch.manual_seed(1)
    from_rgb = module(views)
    for a, b in zip(from_bgr, from_rgb):
        torch.testing.assert_close(a, b, atol=1e-3, rtol=0)


def test_no_step_reads_a_device_value_on_the_host():
    """A host sync shows as an op copying a device scalar or a data-
    dependent shape to the host (item, nonzero, boolean indexing); none of
    them is dispatched by a step, whatever the batch."""
    from benchmarks import op_counts

    module = fused(byol_pipeline(), byol_pipeline(blur_prob=0.1))
    for batch in (2, 5):
        views = [
            torch.randint(0, 256, (batch, 3, s, s), dtype=torch.uint8)
            for s in (32, 16, 8, 4)
        ] * 2
        module(views, bgr=True)  # the first call builds the layout
        assert op_counts(lambda: module(views, bgr=True))['syncs'] == 0


def test_the_uint8_views_are_read_only_to_make_their_float_copies():
    """The views are read as uint8 once, by the ops that gather a level's
    views and convert them to float; every other op, the channel means of
    the colour stage among them, reads the float copies (a reduction of
    uint8 values to float would first copy them to float)."""
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_leaves

    class Uint8Readers(TorchDispatchMode):

        def __init__(self) -> None:
            super().__init__()
            self.ops = set()

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            if any(
                    isinstance(t, torch.Tensor) and t.dtype == torch.uint8
                    for t in tree_leaves(args)):
                self.ops.add(func.overloadpacket.__name__)
            return func(*args, **(kwargs or {}))

    module = fused(byol_pipeline(), byol_pipeline(blur_prob=0.1))
    views = [
        torch.randint(0, 256, (2, 3, s, s), dtype=torch.uint8)
        for s in (32, 16, 8, 4)
    ] * 2
    module(views, bgr=True)
    with Uint8Readers() as readers:
        module(views, bgr=True)
    assert readers.ops <= {'cat', 'view', '_to_copy'}, readers.ops
    assert '_to_copy' in readers.ops


def test_refusals_name_the_problem():
    with pytest.raises(ValueError, match='fuse_augments=False'):
        fused([dict(type='Solarize')], [])
    with pytest.raises(TypeError, match='no fused version'):
        FusedAugment([[torch.nn.Identity()]])


def test_preprocessor_fuses_pipelines_with_the_same_steps():
    """Pipelines with different steps run in separate fused groups (the
    identity pipeline alone), and the per-op path stays selectable."""
    pre = MontageDataPreprocessor(
        augments=[byol_pipeline(), [],
                  byol_pipeline(blur_prob=0.1)])
    assert pre.fused_pipelines == [[0, 2], [1]]
    views = [
        torch.randint(0, 256, (2, 3, s, s), dtype=torch.uint8) for s in (16, 8)
    ] * 3
    out = pre.augment(views, bgr=True)
    # the step-less pipeline's views come back in place, RGB float
    for k in (2, 3):
        assert out[k].equal(views[k][:, [2, 1, 0]].float())
    assert [v.shape for v in out] == [v.shape for v in views]
    assert not MontageDataPreprocessor(
        augments=[byol_pipeline()], fuse_augments=False).fused_pipelines
