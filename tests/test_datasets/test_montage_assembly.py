import numpy as np
import pytest
from mmcv import imread

from mmpretrain.registry import TRANSFORMS

VIEW = [
    dict(type='RandomResizedCrop', scale=64, crop_ratio_range=(0.2, 1.0)),
    dict(type='RandomFlip', prob=0.5),
]


def test_views_per_level_are_independent_and_tile_sized(photo_dir):
    import glob
    path = sorted(glob.glob(f'{photo_dir}/*'))[0]
    transform = TRANSFORMS.build(
        dict(
            type='MontageAssembly',
            geometry=dict(resolution=64, scales=(1, 2, 4)),
            transforms=[VIEW, VIEW]))
    results = transform(dict(img=imread(path), img_path=path))
    imgs = results['img']
    assert [im.shape[:2] for im in imgs] == [(64, 64), (32, 32), (16, 16)] * 2
    # the two level-0 copies (views A and B) come from different crops
    assert not np.array_equal(imgs[0], imgs[3])


def test_full_size_copies_have_the_montage_resolution():
    # the pipeline's own crop size (64) is replaced by the geometry's
    transform = TRANSFORMS.build(
        dict(
            type='MontageAssembly',
            geometry=dict(resolution=48, scales=(1, 2)),
            full_size_copies=True,
            transforms=[VIEW, VIEW]))
    img = np.random.randint(0, 255, (80, 90, 3), np.uint8)
    imgs = transform(dict(img=img))['img']
    assert len(imgs) == 4 and all(im.shape == (48, 48, 3) for im in imgs)
    assert transform.tile_sizes is None and not transform.shrink_sources


GEOMETRY = dict(resolution=64, scales=(1, 2))


@pytest.mark.parametrize('kwargs, match', [
    (dict(transforms=[VIEW, VIEW]), 'no geometry.*MontageRunner'),
    (dict(geometry=dict(resolution=64, scales=()),
          transforms=[VIEW, VIEW]), 'at least one level'),
    (dict(
        geometry=dict(resolution=64, scales=(1, 3)),
        transforms=[VIEW, VIEW]), 'not divisible by the level-1 scale 3'),
    (dict(geometry=GEOMETRY, transforms=[VIEW] * 3), '2 view pipelines'),
    (dict(geometry=dict(scales=(1, 2)),
          transforms=[VIEW, VIEW]), '`resolution` is missing'),
    (dict(geometry=GEOMETRY, transforms=[VIEW[1:], VIEW[1:]
                                         ]), 'exactly one RandomResizedCrop'),
])
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TRANSFORMS.build(dict(type='MontageAssembly', **kwargs))


def test_shrunk_sources_keep_crops_at_least_tile_resolution():
    transform = TRANSFORMS.build(
        dict(
            type='MontageAssembly',
            geometry=dict(resolution=224, scales=(1, 2, 4)),
            transforms=[VIEW, VIEW]))
    big = np.random.randint(0, 255, (800, 1000, 3), np.uint8)
    sources = transform._sources(big)
    # level 1: shrunk by 2 (= 224 / 112); level 2: by 800 / 224, not 4, so
    # its short side stays at the level-0 tile size
    assert [s.shape[:2] for s in sources] == [(800, 1000), (400, 500),
                                              (224, 280)]
    small = np.random.randint(0, 255, (200, 300, 3), np.uint8)
    assert all(s is small for s in transform._sources(small))
    imgs = transform(dict(img=big))['img']
    assert [im.shape[:2] for im in imgs] == [(224, 224), (112, 112),
                                             (56, 56)] * 2


def test_without_shrinking_levels_crop_from_the_full_image():
    transform = TRANSFORMS.build(
        dict(
            type='MontageAssembly',
            geometry=GEOMETRY,
            shrink_sources=False,
            transforms=[VIEW, VIEW]))
    img = np.random.randint(0, 255, (300, 300, 3), np.uint8)
    assert not transform.shrink_sources
    assert [im.shape[:2]
            for im in transform(dict(img=img))['img']] == [(64, 64),
                                                           (32, 32)] * 2
