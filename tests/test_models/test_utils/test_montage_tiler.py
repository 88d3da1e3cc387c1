import pytest
import torch
import torch.nn.functional as F

from mcl_mm.models import MontageTiler
from mcl_mm.montage import (montages_to_tiles, split_views, tile_origin,
                            tiles_to_montages, view_index)


def _levels(batch, resolution, scales, channels=3):
    return [
        torch.rand(batch, channels, resolution, resolution) for _ in scales
    ]


@pytest.mark.parametrize('mode', ['nearest', 'area', 'bilinear'])
def test_tiles_equal_resized_source_images(mode):
    torch.manual_seed(0)
    tiler = MontageTiler(resolution=32, scales=(1, 2, 4), mode=mode)
    images = _levels(16, 32, tiler.scales)
    montages, index = tiler(images)
    for level, (r, m, idx) in enumerate(zip(tiler.scales, montages, index)):
        t = 32 // r
        assert m.shape == (16 // r**2, 3, 32, 32)
        assert idx.shape == (16, )
        # every image appears exactly once when tiles == images
        assert sorted(idx.tolist()) == list(range(16))
        kwargs = {} if mode in ('nearest',
                                'area') else dict(align_corners=False)
        expected = F.interpolate(
            images[level], size=(t, t), mode=mode, **kwargs)
        for k, image in enumerate(idx.tolist()):
            y, x = tile_origin(k % (r * r), r, t)
            tile = m[k // (r * r), :, y:y + t, x:x + t]
            torch.testing.assert_close(tile, expected[image])


def test_counts_follow_tiles_per_image_and_repeat_images():
    # the authors' S=4 setting: B, B/4, B/16, B/32 montages
    tiler = MontageTiler(
        resolution=64, scales=(1, 2, 4, 8), tiles_per_image=(1, 1, 1, 2))
    # the same as a mapping by scale, which survives a change of scales
    assert MontageTiler(
        resolution=64, scales=(1, 2, 4, 8), tiles_per_image={
            8: 2
        }).tiles_per_image == (1, 1, 1, 2)
    assert MontageTiler(
        resolution=64, scales=(1, 2), tiles_per_image={
            8: 2
        }).tiles_per_image == (1, 1)
    montages, index = tiler(_levels(32, 64, tiler.scales))
    assert [m.size(0) for m in montages] == [32, 8, 2, 1]
    assert [i.numel() for i in index] == [32, 32, 32, 64]
    # level 3 has 2B tiles: every image appears exactly twice
    assert torch.bincount(index[3], minlength=32).tolist() == [2] * 32
    assert tiler.batch_multiple == 32


def test_tile_origin_is_row_major():
    # a 3x3 montage of 5-px tiles, written out by hand
    assert [tile_origin(k, 3, 5)
            for k in range(9)] == [(0, 0), (0, 5), (0, 10), (5, 0), (5, 5),
                                   (5, 10), (10, 0), (10, 5), (10, 10)]


def test_tile_layout_functions_are_inverse_and_follow_tile_origin():
    tiles = torch.rand(2 * 9, 2, 5, 5)
    montages = tiles_to_montages(tiles, 3)
    assert montages.shape == (2, 2, 15, 15)
    for k in range(18):
        y, x = tile_origin(k % 9, 3, 5)
        torch.testing.assert_close(montages[k // 9, :, y:y + 5, x:x + 5],
                                   tiles[k])
    torch.testing.assert_close(montages_to_tiles(montages, 3), tiles)
    with pytest.raises(ValueError, match='whole cells'):
        montages_to_tiles(torch.rand(1, 2, 7, 7), 3)


def test_view_order_is_pipeline_major():
    views = [torch.full((1, ), float(k)) for k in range(6)]
    a, b = split_views(views, num_levels=3, num_pipelines=2)
    assert [int(v) for v in a] == [0, 1, 2] and [int(v)
                                                 for v in b] == [3, 4, 5]
    assert [view_index(1, level, 3) for level in range(3)] == [3, 4, 5]
    with pytest.raises(ValueError, match='expected 2 x 3 view batches'):
        split_views(views[:5], num_levels=3, num_pipelines=2)


def test_montages_to_tiles_round_trips_the_tile_order():
    tiler = MontageTiler(resolution=16, scales=(1, 4))
    images = [torch.rand(16, 2, 16, 16), torch.rand(16, 2, 4, 4)]
    montages, index = tiler(images)
    tiles = montages_to_tiles(montages[1], 4)
    torch.testing.assert_close(tiles, images[1][index[1]])


def test_already_small_copies_are_not_resized():
    tiler = MontageTiler(resolution=32, scales=(1, 2))
    small = torch.rand(4, 3, 16, 16)
    montages, index = tiler([torch.rand(4, 3, 32, 32), small])
    torch.testing.assert_close(
        montages_to_tiles(montages[1], 2), small[index[1]])


def test_bad_batch_size_is_named():
    tiler = MontageTiler(resolution=32, scales=(1, 2, 4))
    with pytest.raises(
            ValueError, match=r'batch of 12 images .* level 2'
            r'.*multiple of 16'):
        tiler(_levels(12, 32, tiler.scales))


@pytest.mark.parametrize('kwargs, match', [
    (dict(scales=()), 'at least one level'),
    (dict(scales=(1, 0)), '>= 1'),
    (dict(scales=(1, 3)), 'not divisible'),
    (dict(tiles_per_image=(1, )), 'one entry per level'),
    (dict(mode='cubic'), 'mode'),
])
def test_bad_configuration_is_named(kwargs, match):
    cfg = dict(resolution=32, scales=(1, 2))
    cfg.update(kwargs)
    with pytest.raises(ValueError, match=match):
        MontageTiler(**cfg)
