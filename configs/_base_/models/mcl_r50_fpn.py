# MCL: ResNet-50 + FPN (P2-P5, 256 ch) + shared 4-conv tile head, online and
# EMA target; the authors' default S=4 (scales 1, 2, 4, 8; level 3 holds two
# tiles per image, i.e. B, B/4, B/16, B/32 montages).
#
# model.montage is the one source of the montage geometry: the head's number
# of levels and the FPN stages (from the full pyramid described below) follow
# it when the model is built, the training pipeline's MontageAssembly through
# MontageRunner. `--cfg-options 'model.montage.scales=(1,2)'` is S=2.
runner_type = 'MontageRunner'
norm_cfg = dict(type='SyncBN')
model = dict(
    type='MCL',
    base_momentum=0.01,  # target keeps 0.99, cosine-annealed to 1.0
    montage=dict(
        type='MontageTiler',
        resolution=224,
        scales=(1, 2, 4, 8),
        tiles_per_image={8: 2},  # by scale; other scales one tile
        mode='nearest'),
    backbone=dict(
        type='ResNet',
        depth=50,
        out_indices=(0, 1, 2, 3),
        norm_cfg=norm_cfg,
        zero_init_residual=False),
    # the full pyramid: one stride, stage and FPN input per output
    pyramid_strides=(4, 8, 16, 32),
    neck=dict(
        type='mmdet.FPN',
        in_channels=[256, 512, 1024, 2048],
        out_channels=256,
        num_outs=4,
        norm_cfg=norm_cfg),
    tile_head=dict(
        type='TileEmbedHead',
        in_channels=256,
        feat_channels=256,
        num_convs=4,
        norm_cfg=norm_cfg,
        projection=dict(
            type='NonLinearNeck',
            in_channels=256,
            hid_channels=2048,
            out_channels=256,
            num_layers=2,
            with_bias=True,
            with_last_bias=True,  # the authors' Linear layers all have one
            with_last_bn=True,
            with_last_bn_affine=False,
            with_avg_pool=True,
            norm_cfg=norm_cfg)),
    head=dict(
        type='MCLHead',
        predictor=dict(
            type='NonLinearNeck',
            in_channels=256,
            hid_channels=2048,
            out_channels=256,
            num_layers=2,
            with_bias=True,
            with_last_bias=True,
            with_last_bn=False,
            with_avg_pool=False,
            norm_cfg=norm_cfg),
        loss=dict(type='TileContrastiveLoss', temperature=1.0)),
)
# the authors' MLP inits (their necks.py _init_weights), which the R50
# ImageNet / COCO configs apply (the CPU demo keeps PyTorch's defaults): the
# projection's Linear layers Kaiming (fan_in, relu, normal) with zero bias,
# the predictors' N(0, 0.01) with zero bias; norms weight 1, bias 0
mlp_norm_init = dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])
authors_projection_init = [
    dict(
        type='Kaiming',
        layer='Linear',
        mode='fan_in',
        nonlinearity='relu',
        distribution='normal',
        bias=0.), mlp_norm_init
]
authors_predictor_init = [
    dict(type='Normal', layer='Linear', std=0.01, bias=0.), mlp_norm_init
]
# dense probe while pre-training (DenseProbeHook, added by the full-size
# configs): frozen P2-P5 and C5 on a 200-image COCO val2017 subset, made with
#   python tools/analysis_tools/make_probe_subset.py \
#       data/coco/annotations/instances_val2017.json \
#       data/coco/annotations/instances_val2017_probe200.json --num 200
# (without that file the probe is off, with a warning)
dense_probe = dict(
    type='DenseProbeHook',
    ann_file='data/coco/annotations/instances_val2017_probe200.json',
    img_dir='data/coco/val2017',
    size=224,
    interval=5000)
# the authors' backbone init (their resnet.py init_weights, mmcv's
# kaiming_init): Kaiming normal with mode='fan_in' (ReLU gain) on every
# Conv2d, norms 1 / 0. mmpretrain's ResNet default is mode='fan_out'; the
# configs keep it, configs/mcl/ablations/mcl_r50-fpn_s4-authors-init_in1k.py
# switches to this
authors_backbone_init = [
    dict(
        type='Kaiming',
        layer='Conv2d',
        mode='fan_in',
        nonlinearity='relu',
        distribution='normal'), mlp_norm_init
]
