# MaskCo: R50 (C5 read), mask prediction head on the query's C5, RoIAlign
# 7x7, MoCo v2 projection (2048-2048-128), InfoNCE at temperature 0.2,
# key network EMA 0.999.
model = dict(
    type='MaskCo',
    channels_last=True,
    momentum=0.001,
    roi_size=7,
    feat_stride=32,
    intra_negatives=False,
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    backbone=dict(
        type='ResNet',
        depth=50,
        out_indices=(3, ),
        norm_cfg=dict(type='SyncBN'),
        zero_init_residual=False),
    mask_head=dict(
        type='MaskPredictionHead',
        in_channels=2048,
        feat_channels=512,
        num_convs=2,
        norm_cfg=dict(type='SyncBN')),
    neck=dict(
        type='MoCoV2Neck',
        in_channels=2048,
        hid_channels=2048,
        out_channels=128,
        with_avg_pool=True),
    head=dict(
        type='ContrastiveHead',
        loss=dict(type='CrossEntropyLoss'),
        temperature=0.2))
