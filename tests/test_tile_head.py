import pytest
import torch

from mcl_mm.models import TileEmbedHead


def _head():
    return TileEmbedHead(
        in_channels=8,
        feat_channels=8,
        norm_cfg=dict(type='BN'),
        projection=dict(
            type='NonLinearNeck',
            in_channels=8,
            hid_channels=16,
            out_channels=4,
            with_last_bn_affine=False,
            norm_cfg=dict(type='BN1d')))


def test_tile_embeddings_equal_head_on_hand_cropped_tiles():
    torch.manual_seed(0)
    head = _head()
    head.init_weights()
    head.eval()  # BN on running statistics: every tile is independent
    scales = (1, 2, 4)
    feats = [torch.randn(4, 8, 3 * r, 3 * r) for r in (1, 2, 4)]
    feats = [f[:n] for f, n in zip(feats, (4, 2, 1))]
    out = head(feats, scales)
    with torch.no_grad():
        for f, r, emb in zip(feats, scales, out):
            assert emb.shape == (f.size(0) * r * r, 4)
            for m in range(f.size(0)):
                for row in range(r):
                    for col in range(r):
                        tile = f[m:m + 1, :, 3 * row:3 * row + 3,
                                 3 * col:3 * col + 3]
                        x = tile
                        for conv in head.shared_convs:
                            x = conv(x)
                        ref = head.projection((x, ))[0][0]
                        torch.testing.assert_close(
                            emb[m * r * r + row * r + col], ref)


def test_tiles_of_unequal_cells_are_refused():
    head = _head().eval()
    with pytest.raises(ValueError, match='same number of cells'):
        head([torch.randn(1, 8, 3, 3), torch.randn(1, 8, 4, 4)], (1, 2))
