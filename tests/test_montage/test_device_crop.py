"""Crops on the device equal the CPU workers' crops: Pillow's resampling,
the same random boxes and flips, then the same photometric steps."""
import copy
import glob
import os.path as osp

import numpy as np
import pytest
import torch
from mmcv.transforms import Compose
from mmengine.config import Config
from mmengine.registry import FUNCTIONS
from PIL import Image

from mcl_mm.engine import MontageRunner
from mcl_mm.montage import PILLOW_FILTERS, resized_crops
from mmpretrain.registry import MODELS, TRANSFORMS
from conftest import DEMO_CONFIG, IN1K

PILLOW = dict(
    box=Image.BOX,
    bilinear=Image.BILINEAR,
    hamming=Image.HAMMING,
    bicubic=Image.BICUBIC,
    lanczos=Image.LANCZOS)
# (x, y, w, h, flipped): a shrink, the whole image flipped, an enlargement,
# a sliver, a one-pixel-wide crop, a box at the far corner
BOXES = [(5, 7, 60, 80, 0), (0, 0, 90, 120, 1), (30, 40, 20, 15, 0),
         (10, 3, 77, 9, 1), (44, 0, 1, 120, 0), (60, 90, 30, 30, 1)]


@pytest.fixture(scope='module')
def photo(photo_dir):
    """A real photo, 90 x 120 (w x h), uint8 RGB."""
    path = sorted(glob.glob(osp.join(photo_dir, '*.png')))[1]
    return np.asarray(Image.open(path).convert('RGB').resize((90, 120)))


def _pillow_crop(img, box, size, interpolation):
    x, y, w, h, flipped = box
    out = Image.fromarray(img[y:y + h, x:x + w]).resize((size, size),
                                                        PILLOW[interpolation])
    out = np.asarray(out).astype(np.float32)
    return out[:, ::-1] if flipped else out


@pytest.mark.parametrize('interpolation', sorted(PILLOW_FILTERS))
def test_resized_crops_are_pillows(photo, interpolation):
    """Every box of a padded batch against Pillow's crop and resize: equal
    up to one grey level (Pillow's fixed-point weights), and the padding is
    never read."""
    image = torch.from_numpy(photo.copy()).permute(2, 0, 1).float()
    padded = torch.full((2, 3, 150, 131), 255.)
    padded[0, :, :120, :90] = image
    padded[1, :, :120, :90] = image
    boxes = torch.tensor([BOXES, BOXES[::-1]], dtype=torch.float32)
    out = resized_crops(padded, boxes, 32, interpolation)
    assert out.shape == (2, len(BOXES), 3, 32, 32)
    for b, order in enumerate((BOXES, BOXES[::-1])):
        for k, box in enumerate(order):
            ref = _pillow_crop(photo, box, 32, interpolation)
            diff = np.abs(out[b, k].permute(1, 2, 0).numpy() - ref)
            assert diff.max() <= 1, (interpolation, box)
            assert (diff > 0).mean() < 0.02, (interpolation, box)
    if interpolation in ('bicubic', 'box'):  # the shipped filter: exact
        ref = _pillow_crop(photo, BOXES[0], 32, interpolation)
        assert np.array_equal(out[0, 0].permute(1, 2, 0).numpy(), ref)


def test_an_unknown_filter_is_named():
    with pytest.raises(ValueError, match="'area' has no Pillow filter"):
        resized_crops(
            torch.zeros(1, 3, 8, 8), torch.tensor([[[0, 0, 8, 8, 0.]]]), 4,
            'area')


def _config(crop_on_device, shrink_sources=True, path=IN1K):
    cfg = Config.fromfile(path)
    # as --cfg-options sets it
    cfg.merge_from_dict(
        {'model.data_preprocessor.crop_on_device': crop_on_device})
    cfg.train_dataloader.dataset.pipeline[1].shrink_sources = shrink_sources
    return MontageRunner.prepare_config(cfg)


@pytest.fixture(scope='module')
def jpegs(photo_dir, tmp_path_factory):
    """Real photos as JPEGs of four sizes and both orientations."""
    out = tmp_path_factory.mktemp('jpegs')
    paths = sorted(glob.glob(osp.join(photo_dir, '*.png')))
    files = []
    for path, size in zip(paths, [(500, 375), (375, 500), (300, 200),
                                  (640, 480)]):
        name = str(out / (osp.basename(path)[:-4] + '.jpg'))
        Image.open(path).convert('RGB').resize(size).save(name, quality=90)
        files.append(name)
    return files


def _batch(cfg, files, seed=0):
    """The training pipeline and collate of ``cfg`` over ``files``."""
    pipeline = Compose(
        [TRANSFORMS.build(t) for t in cfg.train_dataloader.dataset.pipeline])
    collate = cfg.train_dataloader.collate_fn
    np.random.seed(seed)
    samples = [pipeline(dict(img_path=f)) for f in files]
    return FUNCTIONS.get(collate['type'])(samples)


@pytest.fixture(scope='module')
def model():
    """The shipped R50-FPN S=4 model, whose preprocessor cuts the crops."""
    cfg = _config(True)
    return MODELS.build(cfg.model)


def test_shipped_config_crops_on_the_device_like_the_workers(jpegs, model):
    """The shipped R50-FPN S=4 config: the same seed gives the same boxes
    and flips, and the device's crops equal the workers' (without shrunk
    sources, which change the draws' ranges) to a grey level; the
    photometric steps and normalisation after them give the same views."""
    cpu = _batch(_config(False, shrink_sources=False), jpegs)
    device = _batch(_config(True), jpegs)
    # one padded batch: the largest height and the largest width
    assert device['inputs'].shape == (4, 3, 500, 640)
    pre = model.data_preprocessor
    boxes = pre.crop_boxes(device['data_samples'], torch.device('cpu'))
    assert boxes.shape == (4, 8, 5)
    views = pre.crop(device['inputs'], boxes)
    # under the optimiser's autocast too (mmengine's train_step)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        amp = pre.crop(device['inputs'], boxes)
    assert all(a.dtype == torch.float32 and a.equal(v)
               for a, v in zip(amp, views))
    sizes = [224, 112, 56, 28] * 2
    for view, ref, size in zip(views, cpu['inputs'], sizes):
        assert ref.shape == (4, 3, size, size)
        diff = (view - ref.float()).abs()
        assert diff.max() <= 1 and (diff > 0).float().mean() < 1e-3
    # the flips and the boxes vary per image, view and level
    assert 0 < boxes[..., 4].mean() < 1
    assert len({tuple(b)
                for b in boxes[..., :4].reshape(-1, 4).tolist()}) == 32
    outputs = []
    for data in (cpu, device):
        torch.manual_seed(5)
        outputs.append(pre(copy.deepcopy(data), training=True)['inputs'])
    for a, b in zip(*outputs):
        assert a.shape == b.shape
        # one grey level of the crops, through the jitter and the blur
        assert (a - b).abs().max() * pre.std.max() <= 2.5


def test_pad_collate_pads_into_one_tensor():
    """Images of different sizes, right and below padded with zeros; the
    samples stay a list."""
    from mmpretrain.structures import DataSample
    images = [
        torch.randint(1, 256, (3, h, w), dtype=torch.uint8)
        for h, w in ((5, 7), (9, 4), (2, 2))
    ]
    samples = [DataSample() for _ in images]
    batch = FUNCTIONS.get('pad_collate')(
        [dict(inputs=i, data_samples=s) for i, s in zip(images, samples)])
    out = batch['inputs']
    assert out.shape == (3, 3, 9, 7) and out.dtype == torch.uint8
    expected = torch.zeros(3, 3, 9, 7, dtype=torch.uint8)
    for k, image in enumerate(images):
        expected[k, :, :image.size(1), :image.size(2)] = image
    assert out.equal(expected)
    assert batch['data_samples'] == samples


def test_device_crop_bounds_a_large_image(model, tmp_path, photo):
    """An image longer than 4 x the resolution is shrunk to it in the
    worker (area interpolation); its boxes are drawn on the shrunk copy."""
    path = str(tmp_path / 'large.jpg')
    Image.fromarray(photo).resize((1200, 1600)).save(path)
    data = _batch(_config(True), [path])
    assert tuple(data['inputs'].shape) == (1, 3, 896, 672)
    boxes = np.asarray(data['data_samples'][0].crop_boxes)
    assert np.all(boxes[:, 0] + boxes[:, 2] <= 672)
    assert np.all(boxes[:, 1] + boxes[:, 3] <= 896)
    views = model.data_preprocessor.crop(data['inputs'],
                                         torch.as_tensor(boxes[None]))
    assert [tuple(v.shape) for v in views] == [(1, 3, s, s)
                                               for s in (224, 112, 56, 28) * 2]


def test_the_runner_sets_the_pipeline_up():
    cfg = _config(True)
    pre = cfg.model.data_preprocessor
    assert pre.crop_on_device is True
    assert pre.crop_interpolation == ['bicubic', 'bicubic']
    assert pre.full_size_copies is False
    assembly, pack = cfg.train_dataloader.dataset.pipeline[1:]
    assert assembly.crop_on_device is True
    assert [t['type'] for t in assembly.transforms[0]
            ] == ['RandomResizedCrop', 'RandomFlip']
    assert pack.algorithm_keys == ['crop_boxes']
    assert cfg.train_dataloader.collate_fn == dict(type='pad_collate')
    # a config the runner already prepared (a run's dumped config) stays
    again = MontageRunner.prepare_config(copy.deepcopy(cfg))
    assert again.to_dict() == cfg.to_dict()
    # 'auto' without a GPU, or False: the workers crop
    for wanted in ([False] if torch.cuda.is_available() else [False, 'auto']):
        cfg = _config(wanted)
        assert cfg.model.data_preprocessor.crop_on_device is False
        assert 'crop_on_device' not in cfg.train_dataloader.dataset.pipeline[1]
        assert cfg.train_dataloader.collate_fn == dict(type='default_collate')


@pytest.mark.parametrize('change, message', [
    (dict(crop_on_device='yes'), 'expected "auto", True or False'),
    (dict(crop_on_device=True,
          augment_on_device=False), 'needs augment_on_device=True'),
])
def test_bad_switches_are_named(change, message):
    cfg = Config.fromfile(DEMO_CONFIG)
    cfg.merge_from_dict({
        f'model.data_preprocessor.{k}': v
        for k, v in change.items()
    })
    with pytest.raises(ValueError, match=message):
        MontageRunner.prepare_config(cfg)


def test_a_crop_without_a_pillow_filter_is_named():
    cfg = Config.fromfile(DEMO_CONFIG)
    cfg.merge_from_dict({'model.data_preprocessor.crop_on_device': True})
    crop = cfg.train_dataloader.dataset.pipeline[1].transforms[0][0]
    crop.update(interpolation='area', backend='cv2')
    with pytest.raises(ValueError, match="interpolation='area'"):
        MontageRunner.prepare_config(cfg)


def test_a_step_the_device_cannot_take_is_named():
    cfg = Config.fromfile(DEMO_CONFIG)
    cfg.merge_from_dict({'model.data_preprocessor.crop_on_device': True})
    assembly = cfg.train_dataloader.dataset.pipeline[1]
    assembly.transforms[0].insert(1, dict(type='RandomErasing'))
    with pytest.raises(ValueError, match='RandomErasing'):
        cfg = MontageRunner.prepare_config(cfg)
        TRANSFORMS.build(cfg.train_dataloader.dataset.pipeline[1])


def test_a_training_run_crops_on_the_device(photo_dir, monkeypatch):
    """The demo config trains two iterations through the runner with a
    data worker process: the worker sends the padded images and the boxes
    (``pad_collate``, in shared memory), the preprocessor cuts them."""
    from benchmarks import data_wait, load_config
    from mcl_mm.models.data_preprocessors import MontageDataPreprocessor
    cuts = []
    crop = MontageDataPreprocessor.crop

    def counted(self, images, boxes):
        cuts.append(boxes.shape)
        return crop(self, images, boxes)

    monkeypatch.setattr(MontageDataPreprocessor, 'crop', counted)
    cfg = load_config(DEMO_CONFIG,
                      {'model.data_preprocessor.crop_on_device': True})
    run = data_wait.loader_config(cfg, photo_dir, iters=2, workers=1)
    times = data_wait.iteration_times(run)
    assert len(times['time']) == 2
    assert cuts == [(16, 6, 5)] * 2
