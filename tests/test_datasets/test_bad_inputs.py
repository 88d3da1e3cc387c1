"""Bad input files and fields: handled, or refused naming what is wrong."""
import os.path as osp

import cv2
import numpy as np
import pytest
from mmcv.transforms import Compose
from mmengine.config import Config
from PIL import Image

from mcl_mm.montage import apply_montage_geometry
from mmpretrain.registry import DATASETS, MODELS
from conftest import DEMO_CONFIG

CFG = apply_montage_geometry(Config.fromfile(DEMO_CONFIG))


def _pipeline():
    return Compose(CFG.train_dataloader.dataset.pipeline)


def _photo(photo_dir):
    return sorted(
        osp.join(photo_dir, f) for f in __import__('os').listdir(photo_dir)
        if f.endswith('.png'))[0]


def _check_views(results):
    views = results['inputs']
    assert [tuple(v.shape) for v in views] == [(3, 96, 96), (3, 48, 48),
                                               (3, 24, 24)] * 2


def test_greyscale_png_becomes_three_channels(tmp_path, photo_dir):
    grey = cv2.cvtColor(cv2.imread(_photo(photo_dir)), cv2.COLOR_BGR2GRAY)
    path = str(tmp_path / 'grey.png')
    cv2.imwrite(path, grey)
    _check_views(_pipeline()(dict(img_path=path)))


def test_16_bit_png_becomes_8_bit_colour(tmp_path, photo_dir):
    img16 = cv2.imread(_photo(photo_dir)).astype(np.uint16) * 257
    path = str(tmp_path / 'deep.png')
    cv2.imwrite(path, img16)
    assert cv2.imread(path, cv2.IMREAD_UNCHANGED).dtype == np.uint16
    results = _pipeline()(dict(img_path=path))
    _check_views(results)
    assert all(v.dtype.is_floating_point is False for v in results['inputs'])


def test_cmyk_jpeg_becomes_rgb(tmp_path, photo_dir):
    path = str(tmp_path / 'cmyk.jpg')
    with Image.open(_photo(photo_dir)) as img:
        img.convert('CMYK').save(path)
    with Image.open(path) as img:
        assert img.mode == 'CMYK'
    _check_views(_pipeline()(dict(img_path=path)))


def test_image_smaller_than_the_smallest_tile(tmp_path, photo_dir):
    path = str(tmp_path / 'tiny.png')
    cv2.imwrite(path, cv2.resize(cv2.imread(_photo(photo_dir)), (10, 8)))
    _check_views(_pipeline()(dict(img_path=path)))


def test_corrupt_jpeg_is_refused_naming_the_file(tmp_path, photo_dir):
    path = str(tmp_path / 'broken.jpg')
    with open(path, 'wb') as f:
        f.write(b'\xff\xd8\xff\xe0' + b'not a jpeg' * 20)
    # off the training path (skip_bad=False) it raises, naming the file
    pipeline = Compose([dict(type='LoadImageChecked')] +
                       CFG.train_dataloader.dataset.pipeline[1:])
    with pytest.raises(Exception, match='broken.jpg'):
        pipeline(dict(img_path=path))
    # in training it is skipped
    assert _pipeline()(dict(img_path=path)) is None


def test_empty_data_folder_is_refused_naming_it(tmp_path):
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(Exception, match=str(empty)):
        DATASETS.build(
            dict(
                type='CustomDataset',
                data_root=str(empty),
                with_label=False,
                pipeline=[]))


def test_file_list_naming_a_missing_file(tmp_path, photo_dir):
    ann = tmp_path / 'train.txt'
    ann.write_text(f'{osp.basename(_photo(photo_dir))}\nmissing.jpg\n')
    dataset = DATASETS.build(
        dict(
            type='CustomDataset',
            data_root=photo_dir,
            ann_file=str(ann),
            with_label=False,
            pipeline=CFG.train_dataloader.dataset.pipeline))
    dataset[0]
    # training: the missing file is skipped, another index drawn, and the
    # skip recorded with the reason
    assert len(dataset[1]['inputs']) == 6
    loader = dataset.pipeline.transforms[0]
    assert 'cannot be read' in loader.skipped()[osp.join(
        photo_dir, 'missing.jpg')]
    # evaluation / tests: the same file raises, naming it
    strict = DATASETS.build(
        dict(
            type='CustomDataset',
            data_root=photo_dir,
            ann_file=str(ann),
            with_label=False,
            pipeline=[dict(type='LoadImageChecked')]))
    with pytest.raises(ValueError, match='missing.jpg: cannot be read'):
        strict[1]


def test_mean_std_of_wrong_length_is_refused():
    with pytest.raises(AssertionError, match='`mean` should have 1 or 3'):
        MODELS.build(
            dict(type='SelfSupDataPreprocessor', mean=[1, 2], std=[1, 1, 1]))
