# Ablation: S=1 (one level, the plain image; reads P5, FPN built on C5).
_base_ = '../mcl_r50-fpn_32xb128-amp-coslr-100e_in1k.py'

num_levels = 1
model = dict(
    montage=dict(scales=(1, ), tiles_per_image=(1, )),
    backbone=dict(out_indices=(3, )),
    neck=dict(in_channels=[2048], num_outs=1),
    pyramid_strides=(32, ),
    head=dict(num_levels=num_levels))
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='LoadImageFromFile'),
    dict(type='MontageAssembly', num_levels=num_levels, tile_sizes=[224],
         transforms=[{{_base_.view_pipeline1}}, {{_base_.view_pipeline2}}]),
    dict(type='PackInputs'),
]))
