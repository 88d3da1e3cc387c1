# Mini transfer run, BYOL side: mmpretrain's BYOL with the same backbone
# (R18), the same two view pipelines at the same 96 px, batch, optimiser,
# schedule, iterations and data as the MCL side
# (mcl_r18-fpn_1xb16-96px-s3-400it_paste.py); only the model differs.
_base_ = './mcl_r18-fpn_1xb16-96px-s3-400it_paste.py'

mlp_norm_cfg = dict(type='BN1d')
model = dict(
    _delete_=True,
    type='BYOL',
    base_momentum=0.01,
    data_preprocessor={{_base_.data_preprocessor}},
    backbone=dict(
        type='ResNet',
        depth=18,
        norm_cfg=dict(type='BN'),
        zero_init_residual=False),
    neck=dict(
        type='NonLinearNeck',
        in_channels=512,
        hid_channels=256,
        out_channels=64,
        num_layers=2,
        with_bias=True,
        with_last_bn=False,
        with_avg_pool=True,
        norm_cfg=mlp_norm_cfg),
    head=dict(
        type='LatentPredictHead',
        predictor=dict(
            type='NonLinearNeck',
            in_channels=64,
            hid_channels=256,
            out_channels=64,
            num_layers=2,
            with_bias=True,
            with_last_bn=False,
            with_avg_pool=False,
            norm_cfg=mlp_norm_cfg),
        loss=dict(type='CosineSimilarityLoss')))
# BYOL's two views: MontageAssembly with one level is exactly MultiView
# with the MCL side's view pipelines
train_dataloader = dict(
    dataset=dict(pipeline=[
        dict(type='LoadImageChecked', skip_bad=True),
        dict(
            type='MontageAssembly',
            num_levels=1,
            tile_sizes=(96, ),
            transforms=[{{_base_.view_pipeline1}}, {{_base_.view_pipeline2}}]),
        dict(type='PackInputs'),
    ]))
custom_hooks = [
    dict(type='NonFiniteLossHook'),
    # SIGTERM / SIGUSR1: a checkpoint at the next iteration, exit code 75
    dict(type='PreemptionHook'),
    dict(type='BadImageHook', max_bad_images=10),
    # std / erank of the projections, as MCL logs per level
    dict(type='CollapseMetricsHook', module='neck'),
]
