"""Each augmentation spec (mcl_mm.augment) against the CPU transform it
stands for: its parameters parsed from the CPU step, its fused stage at
forced draws against its CPU reference on real photos, its per-level
scaling; and the registry as the one list the config surgery and the fused
engine read (a spec registered here, in this file alone, moves off the CPU
and fuses)."""
import glob
import os.path as osp

import numpy as np
import pytest
import torch
from PIL import Image

from mcl_mm.augment import (AUGMENTS, AugmentSpec, FusedAugment, build_augment,
                            spec_config_of, split_pipeline, stage_signature)
from mcl_mm.models.data_preprocessors import MontageDataPreprocessor
from mmpretrain.registry import TRANSFORMS

GREY_WEIGHTS = (0.114, 0.587, 0.2989)  # BGR, as the configs give them


def _grey_row(prob: float) -> list:
    b, g, r = (w / sum(GREY_WEIGHTS) for w in GREY_WEIGHTS)
    return [prob, r, g, b, 0, r, g, b, 0, r, g, b, 0, 0, 0, 0, 1]


# per spec: the CPU step as the configs write it, its parameter row
# (probability first), the values its fused stage is checked at and the
# bound on the mean absolute difference to the CPU reference (grey levels)
JITTER_STEP = dict(
    type='RandomApply',
    transforms=[
        dict(
            type='ColorJitter',
            brightness=0.4,
            contrast=0.4,
            saturation=0.2,
            hue=0.1)
    ],
    prob=0.8)
SPEC_CASES = {
    'ColorJitter':
    dict(
        step=JITTER_STEP,
        row=[0.8, 0.6, 0.6, 0.8, -0.1, 0.8, 0.8, 0.4, 0.2],
        values=[
            dict(brightness=1.3),
            dict(brightness=0.7),
            dict(contrast=0.6),
            dict(contrast=1.4),
            dict(saturation=0.8),
            dict(saturation=1.2)
        ],
        bound=1.0),
    'RandomGrayscale':
    dict(
        step=dict(
            type='RandomGrayscale',
            prob=0.2,
            keep_channels=True,
            channel_weights=GREY_WEIGHTS),
        row=_grey_row(0.2),
        values=[{}],
        bound=1.0),  # the CPU op truncates
    'GaussianBlur':
    dict(
        step=dict(
            type='GaussianBlur',
            magnitude_range=(0.1, 2.0),
            magnitude_std='inf',
            prob=0.5),
        row=[0.5, 0.1, 1.9],
        values=[dict(sigma=s) for s in (0.2, 0.7, 1.3, 2.0)],
        bound=1.0),
    'Solarize':
    dict(
        step=dict(type='Solarize', thr=128, prob=0.2),
        row=[0.2, 128.],
        values=[{}],
        bound=1e-9),
}


@pytest.fixture(scope='module')
def photos(photo_dir):
    """4 real photos, 64 x 48: uint8 RGB."""
    return [
        np.asarray(Image.open(p).convert('RGB').resize((64, 48)))
        for p in sorted(glob.glob(osp.join(photo_dir, '*')))[:4]
    ]


def _forced(module: FusedAugment, draws: torch.Tensor) -> FusedAugment:
    """``module`` with its next draws fixed (one row for every image)."""
    module.draw = lambda n, device: draws.view(1, -1).expand(n, -1)
    return module


def _run(module: FusedAugment, rgb: np.ndarray, **kwargs) -> np.ndarray:
    """One photo through ``module``, rounded to 8 bits as the CPU's."""
    x = torch.from_numpy(rgb.copy()).permute(2, 0, 1)[None]
    out = module([x], **kwargs)[0][0].permute(1, 2, 0).numpy()
    return out.round().clip(0, 255)


def _mad(ours: np.ndarray, cpu: np.ndarray) -> float:
    return float(np.abs(ours - cpu.astype(float)).mean())


def test_every_spec_has_a_case_and_stands_for_a_cpu_transform():
    """The registry's keys are the CPU transforms' type names."""
    assert sorted(AUGMENTS.module_dict) == sorted(SPEC_CASES)
    for name in AUGMENTS.module_dict:
        assert TRANSFORMS.get(name) is not None, name


@pytest.mark.parametrize('name', sorted(SPEC_CASES))
def test_cpu_step_parses_into_its_spec(name):
    case = SPEC_CASES[name]
    row = case['row']
    cfg = spec_config_of(case['step'])
    assert cfg['type'] == name
    spec = build_augment(cfg)
    assert isinstance(spec, AUGMENTS.get(name))
    assert spec.prob == row[0]
    assert spec.params() == pytest.approx(row)
    assert len(spec.draws_for(**case['values'][0])) == spec.draw_width


@pytest.mark.parametrize('name', sorted(SPEC_CASES))
def test_fused_stage_matches_the_cpu_reference(photos, name):
    case = SPEC_CASES[name]
    spec = build_augment(spec_config_of(case['step']))
    module = FusedAugment([[spec]])
    for v in case['values']:
        _forced(module, spec.draws_for(**v))
        for rgb in photos:
            cpu = spec.cpu_reference(rgb, **v)
            assert _mad(_run(module, rgb), cpu) < case['bound'], (name, v)


def test_only_blur_scales_and_by_the_callers_factor(photos):
    """A level's blur is sigma times the factor the caller passes (1 when it
    passes none, whatever the view sizes); colour ops ignore it."""
    blur = build_augment(SPEC_CASES['GaussianBlur']['step'])
    module = _forced(FusedAugment([[blur]]), blur.draws_for(sigma=1.6))
    rgb = photos[0]
    small = np.asarray(Image.fromarray(rgb).resize((32, 24)))
    views = [
        torch.from_numpy(img.copy()).permute(2, 0, 1)[None]
        for img in (rgb, small)
    ]
    for scales, sigma in (([1., 0.25], 0.4), (None, 1.6)):
        out = module(views, blur_scales=scales)[1][0].permute(1, 2, 0)
        cpu = blur.cpu_reference(small, sigma=sigma)
        assert _mad(out.numpy().round(), cpu) < 1.0, scales
    # the CPU step of a level at a quarter of the full size
    scaled = AUGMENTS.get('GaussianBlur').scaled_config
    assert scaled(dict(type='GaussianBlur', magnitude_range=(0.1, 2.0)),
                  0.25) == dict(
                      type='GaussianBlur', magnitude_range=(0.025, 0.5))
    assert scaled(dict(type='GaussianBlur', radius=1.2), 0.5) == dict(
        type='GaussianBlur', radius=0.6)
    jitter = build_augment(spec_config_of(JITTER_STEP))
    module = _forced(
        FusedAugment([[jitter]]), jitter.draws_for(brightness=1.3))
    a, b = (module(views, blur_scales=s) for s in ([1., 1.], [1., 0.25]))
    assert all(x.equal(y) for x, y in zip(a, b))
    cfg = dict(type='Solarize', thr=128, prob=0.5)
    assert AUGMENTS.get('Solarize').scaled_config(cfg, 0.25) == cfg


class InvertSpec(AugmentSpec):
    """mmpretrain's ``Invert`` as a colour spec: the affine map 255 - x."""

    colour = True
    draw_width = 1

    def params(self) -> list:
        return [self.prob]

    def values(self, params, draws):
        return draws < params

    def draws_for(self) -> torch.Tensor:
        return torch.zeros(1)

    def cpu_reference(self, rgb: np.ndarray) -> np.ndarray:
        bgr = np.ascontiguousarray(rgb[..., ::-1])
        out = TRANSFORMS.build(dict(type='Invert', prob=1.))(dict(img=bgr))
        return np.ascontiguousarray(out['img'][..., ::-1])

    def transform(self, x, scale=1.0):
        return 255 - x

    def compose(self, params, draws, maps, luma_mu):
        invert = torch.diag(torch.tensor([-1., -1., -1., 1.]))
        invert[:3, 3] = 255
        chosen = self.values(params, draws).view(-1, 1, 1)
        return torch.where(chosen, invert @ maps, maps)


@pytest.fixture
def invert_registered():
    AUGMENTS.register_module(name='Invert', module=InvertSpec)
    yield
    AUGMENTS.module_dict.pop('Invert')


def test_a_registered_spec_moves_off_the_cpu_and_fuses(photos,
                                                       invert_registered):
    """Registering a spec is all the config surgery and the fused engine
    need: the step leaves the CPU pipeline, joins the colour stage of the
    jitter before it, and matches the CPU chain."""
    pipeline = [
        dict(type='RandomFlip', prob=0.5), JITTER_STEP,
        dict(type='Invert', prob=0.3)
    ]
    kept, moved = split_pipeline(pipeline)
    assert kept == pipeline[:1]
    assert [(t['type'], t['prob']) for t in moved] == [('ColorJitter', 0.8),
                                                       ('Invert', 0.3)]
    pre = MontageDataPreprocessor(augments=[moved])
    jitter, invert = pre.augments[0]
    assert isinstance(invert, InvertSpec)
    fused = pre.fused[0]
    assert [kind for kind, _ in stage_signature(pre.augments[0])] == ['colour']
    _forced(fused,
            torch.cat([jitter.draws_for(contrast=0.7),
                       invert.draws_for()]))
    for rgb in photos:
        cpu = invert.cpu_reference(jitter.cpu_reference(rgb, contrast=0.7))
        assert _mad(_run(fused, rgb), cpu) < 1.0
    # the per-op form of the same pipeline
    x = torch.from_numpy(photos[0].copy()).permute(2, 0, 1)[None].float()
    torch.testing.assert_close(
        build_augment(dict(type='Invert', prob=1.))(x), 255 - x)


def test_a_cpu_step_after_a_moved_one_is_refused():
    pipeline = [
        dict(type='Solarize', thr=128, prob=0.2),
        dict(type='RandomFlip', prob=0.5)
    ]
    assert spec_config_of(pipeline[1]) is None
    with pytest.raises(ValueError, match='RandomFlip follows'):
        split_pipeline(pipeline)
