# MCL without FPN (the paper's R50-C4 variant): the pyramid is the single C4
# map bilinearly resized to the stride each level reads (C4Pyramid: 2, 4,
# 8, 16 for levels 3..0; only those the levels read are kept), and the tile
# head is res5 (mmdet's ResLayer, as in the Mask R-CNN C4 RoI head), so every
# tile ends on 7x7 cells at 224 px.
# Transfer: convert with `--to mmdet-c4` (stages 1-3 -> backbone, the
# tile head's res5 -> roi_head.shared_head.layer4) into
# configs/benchmarks/mmdetection/mask-rcnn_r50-c4_syncbn_{1x,2x}_coco.py.
_base_ = './mcl_r50-fpn_32xb128-amp-coslr-100e_in1k.py'

norm_cfg = dict(type='SyncBN')
model = dict(
    backbone=dict(
        num_stages=3,
        out_indices=(2, ),
        strides=(1, 2, 2),
        dilations=(1, 1, 1)),
    neck=dict(
        _delete_=True, type='C4Pyramid', strides=(2, 4, 8, 16), in_stride=16),
    pyramid_strides=(2, 4, 8, 16),
    # tile_layer replaces the 4 stacked convs of the base tile head
    tile_head=dict(
        tile_layer=dict(
            type='mmdet.ResLayer',
            depth=50,
            stage=3,
            stride=2,
            norm_cfg=norm_cfg,
            norm_eval=False),
        projection=dict(in_channels=2048)))
