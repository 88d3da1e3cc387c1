# Ablation: S=3 (scales 1, 2, 4; read P5, P4, P3; FPN built on C3-C5).
_base_ = '../mcl_r50-fpn_32xb128-amp-coslr-100e_in1k.py'

num_levels = 3
model = dict(
    montage=dict(scales=(1, 2, 4), tiles_per_image=(1, 1, 1)),
    backbone=dict(out_indices=(1, 2, 3)),
    neck=dict(in_channels=[512, 1024, 2048], num_outs=3),
    pyramid_strides=(8, 16, 32),
    head=dict(num_levels=num_levels))
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='LoadImageFromFile'),
    dict(type='MontageAssembly', num_levels=num_levels,
         tile_sizes=[224, 112, 56],
         transforms=[{{_base_.view_pipeline1}}, {{_base_.view_pipeline2}}]),
    dict(type='PackInputs'),
]))
