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


def test_tiles_of_unequal_cells_run_per_level_through_the_same_layers():
    # explicit pyramid_levels (ablation): level 0 tiles cover 3x3 cells,
    # level 1 tiles 2x2
    torch.manual_seed(0)
    head = _head()
    head.init_weights()
    head.eval()
    f0, f1 = torch.randn(2, 8, 3, 3), torch.randn(1, 8, 4, 4)
    out = head([f0, f1], (1, 2))
    assert [o.shape for o in out] == [(2, 4), (4, 4)]
    with torch.no_grad():
        ref0 = head.projection((head.shared_convs(f0), ))[0]
        ref1 = head.projection((head.shared_convs(f1[..., :2, 2:]), ))[0]
    torch.testing.assert_close(out[0], ref0)
    torch.testing.assert_close(out[1][1], ref1[0])


def test_tile_layer_replaces_the_stacked_convs():
    head = TileEmbedHead(
        tile_layer=dict(
            type='mmdet.ResLayer',
            depth=50,
            stage=3,
            stride=2,
            norm_cfg=dict(type='BN'),
            norm_eval=False),
        projection=dict(
            type='NonLinearNeck',
            in_channels=2048,
            hid_channels=16,
            out_channels=4,
            norm_cfg=dict(type='BN1d')))
    assert not hasattr(head, 'shared_convs')
    assert all(
        k.startswith(('tile_layer.layer4.', 'projection.'))
        for k in head.state_dict())
    out = head([torch.randn(2, 1024, 8, 8)], (2, ))
    assert out[0].shape == (8, 4)
