"""Odd and broken image files: decoded into the right views, or named with
the reason; skipped in training up to a cap; found by check_dataset."""
import glob
import io
import os
import os.path as osp
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmcv.transforms import Compose
from mmengine.config import Config
from PIL import Image

from mcl_mm.datasets import BadImageError, ImageFolder, decode_image
from mcl_mm.datasets.dataset_check import check_images, dataset_files, summary
from mcl_mm.engine import MontageRunner
from mmpretrain.registry import MODELS, TRANSFORMS
from conftest import DEMO_CONFIG, ROOT

VIEWS = [(3, 96, 96), (3, 48, 48), (3, 24, 24)] * 2


def _photo(photo_dir):
    path = sorted(glob.glob(osp.join(photo_dir, '*.png')))[0]
    return Image.open(path).convert('RGB')


def _jpeg_bytes(img, **kwargs):
    buf = io.BytesIO()
    img.save(buf, format='JPEG', quality=90, **kwargs)
    return buf.getvalue()


def make_odd_files(folder, photo_dir):
    """One file per oddity; returns name -> path."""
    os.makedirs(folder, exist_ok=True)
    photo = _photo(photo_dir).resize((120, 90))
    files = {}

    def put(name, data=None, img=None, **kwargs):
        path = osp.join(folder, name)
        if img is not None:
            img.save(path, **kwargs)
        else:
            with open(path, 'wb') as f:
                f.write(data)
        files[name] = path

    put('zero.jpg', b'')
    jpeg = _jpeg_bytes(photo)
    put('truncated.jpg', jpeg[:len(jpeg) // 2])
    put('text.jpg', b'this is a text file, not a JPEG\n')
    put('photo.webp', img=photo)
    put('photo.tiff', img=photo)
    red, blue = Image.new('RGB', (30, 20),
                          'red'), Image.new('RGB', (30, 20), 'blue')
    put('frames.gif', img=red, save_all=True, append_images=[blue])
    put('rgba.png', img=photo.convert('RGBA'))
    palette = photo.convert('P')
    palette.info['transparency'] = 0
    put('palette.png', img=palette, transparency=0)
    put('onebit.png', img=photo.convert('1'))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise when shown
    put('rotated.jpg', _jpeg_bytes(photo, exif=exif.tobytes()))
    put('cmyk.jpg', img=photo.convert('CMYK'))
    put('tiny.png', img=Image.new('RGB', (1, 1), 'green'))
    put('strip.png', img=photo.resize((4000, 8)))
    put('large.jpg', img=photo.resize((3000, 2250)))
    return files


BAD = {
    'zero.jpg': 'empty file',
    'truncated.jpg': 'truncated JPEG',
    'text.jpg': 'not an image',
}


@pytest.fixture(scope='module')
def odd(tmp_path_factory, photo_dir):
    return make_odd_files(str(tmp_path_factory.mktemp('odd')), photo_dir)


def _pipeline(skip_bad, crop_on_device=False):
    cfg = Config.fromfile(DEMO_CONFIG)
    cfg.merge_from_dict(
        {'model.data_preprocessor.crop_on_device': crop_on_device})
    cfg = MontageRunner.prepare_config(cfg)
    pipeline = cfg.train_dataloader.dataset.pipeline
    pipeline[0] = dict(type='LoadImageChecked', skip_bad=skip_bad)
    return Compose([TRANSFORMS.build(t) for t in pipeline])


@pytest.fixture(scope='module')
def demo_preprocessor():
    """The demo model's preprocessor, which cuts device crops."""
    cfg = Config.fromfile(DEMO_CONFIG)
    cfg.merge_from_dict({'model.data_preprocessor.crop_on_device': True})
    cfg = MontageRunner.prepare_config(cfg)
    return MODELS.build(cfg.model).data_preprocessor


@pytest.mark.parametrize('name', [
    'photo.webp', 'photo.tiff', 'frames.gif', 'rgba.png', 'palette.png',
    'onebit.png', 'rotated.jpg', 'cmyk.jpg', 'tiny.png', 'strip.png',
    'large.jpg'
])
def test_odd_files_give_the_views(odd, name, demo_preprocessor):
    views = _pipeline(skip_bad=False)(dict(img_path=odd[name]))['inputs']
    assert [tuple(v.shape) for v in views] == VIEWS
    # crops on the device: the worker decodes as above and draws the boxes
    packed = _pipeline(False, True)(dict(img_path=odd[name]))
    image, sample = packed['inputs'], packed['data_samples']
    assert image.dtype == torch.uint8 and image.shape[0] == 3
    assert max(image.shape[1:]) <= 4 * 96  # large.jpg: 384 x 288
    views = demo_preprocessor.crop([image],
                                   demo_preprocessor.crop_boxes([sample],
                                                                image.device))
    assert [tuple(v.shape[1:]) for v in views] == VIEWS


@pytest.mark.parametrize('name', sorted(BAD))
def test_bad_files_are_named_with_the_reason(odd, name):
    with pytest.raises(BadImageError, match=BAD[name]) as err:
        _pipeline(skip_bad=False)(dict(img_path=odd[name]))
    assert odd[name] in str(err.value)
    # in training: skipped (None), recorded for BadImageHook
    loader = TRANSFORMS.build(dict(type='LoadImageChecked', skip_bad=True))
    assert loader(dict(img_path=odd[name])) is None
    assert BAD[name] in loader.skipped()[odd[name]]


def test_decoding_follows_orientation_frames_and_colours(odd, photo_dir):
    photo = np.asarray(_photo(photo_dir).resize((120, 90)))
    rotated = decode_image(odd['rotated.jpg'])
    assert rotated.shape == (120, 90, 3)  # EXIF: shown upright, 90 x 120
    assert decode_image(odd['frames.gif'])[5, 5].tolist() == [0, 0, 255]
    webp = decode_image(odd['photo.webp'])[..., ::-1].astype(float)
    assert np.abs(webp - photo).mean() < 12  # lossy, but the photo
    tiff = decode_image(odd['photo.tiff'])[..., ::-1]
    assert np.array_equal(tiff, photo)
    for name in ('rgba.png', 'palette.png', 'onebit.png', 'cmyk.jpg'):
        img = decode_image(odd[name])
        assert img.dtype == np.uint8 and img.shape == (90, 120, 3), name


def test_jpeg_decoding_is_pillows(photo_dir, tmp_path):
    """The workers' decoder (OpenCV) against the authors' (Pillow) on real
    photos saved as JPEG (the fidelity table's decoder row)."""
    for i, path in enumerate(sorted(glob.glob(osp.join(photo_dir, '*.png')))):
        name = str(tmp_path / f'{i}.jpg')
        Image.open(path).convert('RGB').save(name, quality=90)
        ours = decode_image(name)[..., ::-1].astype(int)
        with Image.open(name) as img:
            theirs = np.asarray(img.convert('RGB')).astype(int)
        diff = np.abs(ours - theirs)
        assert diff.mean() < 0.5 and diff.max() <= 2, path


def test_image_folder_reads_more_formats_and_names_the_rest(
        tmp_path, odd, monkeypatch):
    import mcl_mm.datasets.image_folder as image_folder
    for name in ('photo.webp', 'photo.tiff', 'frames.gif', 'rgba.png'):
        shutil.copy(odd[name], tmp_path / name)
    (tmp_path / 'notes.txt').write_text('x')
    (tmp_path / 'labels.csv').write_text('x')
    said = []
    monkeypatch.setattr(image_folder, 'print_log',
                        lambda msg, **kw: said.append(msg))
    dataset = ImageFolder(data_root=str(tmp_path), with_label=False)
    names = sorted(
        osp.basename(dataset.get_data_info(i)['img_path'])
        for i in range(len(dataset)))
    assert names == ['frames.gif', 'photo.tiff', 'photo.webp', 'rgba.png']
    assert len(said) == 1 and '2 files left out' in said[0]
    assert 'labels.csv' in said[0] and 'notes.txt' in said[0]
    only = tmp_path / 'only_text'
    only.mkdir()
    (only / 'readme.md').write_text('x')
    with pytest.raises(RuntimeError, match='left out by extension: readme'):
        ImageFolder(data_root=str(only), with_label=False)


def test_check_dataset_finds_exactly_the_planted_bad_files(odd):
    folder = osp.dirname(odd['zero.jpg'])
    paths, left_out, min_side = dataset_files(folder)
    reports = check_images(paths, workers=2, min_side=min_side)
    bad = {osp.basename(r['path']): r['error'] for r in reports if r['error']}
    assert sorted(bad) == sorted(BAD)
    for name, reason in BAD.items():
        assert reason in bad[name]
    flags = {
        osp.basename(r['path']): r['flags']
        for r in reports if not r['error']
    }
    assert 'CMYK' in flags['cmyk.jpg'] and 'alpha' in flags['rgba.png']
    assert {'palette', 'alpha'} <= set(flags['palette.png'])
    assert 'greyscale' in flags['onebit.png']
    assert 'small' in flags['tiny.png'] and 'small' not in flags['large.jpg']
    assert 'extreme aspect' in flags['strip.png']
    text = summary(reports, left_out, min_side)
    assert '3 unreadable' in text and 'zero.jpg: empty file' in text


def _bad_folder(tmp_path, photo_dir, odd):
    folder = tmp_path / 'data'
    shutil.copytree(photo_dir, folder)
    for name in ('zero.jpg', 'truncated.jpg'):
        shutil.copy(odd[name], folder / name)
    return str(folder)


def _train(tmp_path, data, *options):
    cmd = [
        sys.executable,
        osp.join(ROOT, 'tools', 'train.py'), DEMO_CONFIG, '--work-dir',
        str(tmp_path / 'work'), '--cfg-options',
        f'train_dataloader.dataset.data_root={data}', 'train_cfg.max_iters=3',
        'default_hooks.logger.interval=1', 'train_dataloader.num_workers=2',
        'default_hooks.checkpoint.interval=3', *options
    ]
    return subprocess.run(
        cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_training_skips_bad_files_and_names_them(tmp_path, photo_dir, odd):
    data = _bad_folder(tmp_path, photo_dir, odd)
    proc = _train(tmp_path, data)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    assert osp.isfile(tmp_path / 'work' / 'iter_3.pth')
    for name, reason in (('zero.jpg', 'empty file'), ('truncated.jpg',
                                                      'truncated JPEG')):
        assert f'{name}: {reason}' in log
    assert 'end of training: 2 unreadable images skipped' in log


@pytest.mark.slow
def test_too_many_bad_files_stop_the_run_with_the_list(tmp_path, photo_dir,
                                                       odd):
    data = _bad_folder(tmp_path, photo_dir, odd)
    cfg = Config.fromfile(DEMO_CONFIG)
    cfg.custom_hooks = [
        dict(type='BadImageHook', max_bad_images=1, interval=1)
    ]
    cfg.train_dataloader.dataset.data_root = data
    path = str(tmp_path / 'cap.py')
    cfg.dump(path)
    cmd = [
        sys.executable,
        osp.join(ROOT, 'tools', 'train.py'), path, '--work-dir',
        str(tmp_path / 'work'), '--cfg-options', 'train_cfg.max_iters=6',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False'
    ]
    proc = subprocess.run(
        cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    log = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert 'more than max_bad_images=1' in log
    assert 'zero.jpg: empty file' in log
    assert 'truncated.jpg: truncated JPEG' in log


@pytest.mark.slow
def test_check_dataset_command_line_exit_code(tmp_path, photo_dir, odd):
    tool = osp.join(ROOT, 'tools', 'analysis_tools', 'check_dataset.py')
    proc = subprocess.run([sys.executable, tool, photo_dir, '--workers', '2'],
                          capture_output=True,
                          text=True)
    assert proc.returncode == 0 and '0 unreadable' in proc.stdout
    data = _bad_folder(tmp_path, photo_dir, odd)
    cfg = Config.fromfile(DEMO_CONFIG)
    cfg.train_dataloader.dataset.data_root = data
    path = str(tmp_path / 'demo.py')
    cfg.dump(path)
    proc = subprocess.run([sys.executable, tool, path],
                          capture_output=True,
                          text=True)
    assert proc.returncode == 1
    assert '2 unreadable' in proc.stdout and 'zero.jpg' in proc.stdout
