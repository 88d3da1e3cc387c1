# CPU demo: MCL with S=3 on the real photographs bundled with scikit-image
# (copied to data/demo by `make demo`), ResNet-18 + FPN at 96 px, plain BN,
# 100 iterations of batch 16 (16 + 4 + 1 montages per view). With S=3 the
# levels read P5, P4 and P3, so the FPN is built on C3-C5 only (at build
# time, from model.montage.scales).
_base_ = [
    '../_base_/datasets/imagenet_bs128_mcl.py',
    '../_base_/models/mcl_r50_fpn.py',
    '../_base_/default_runtime.py',
]

norm_cfg = dict(type='BN')
mlp_norm_cfg = dict(type='BN1d')
channels = 64

model = dict(
    montage=dict(resolution=96, scales=(1, 2, 4)),
    backbone=dict(depth=18, norm_cfg=norm_cfg),
    neck=dict(
        in_channels=[64, 128, 256, 512],
        out_channels=channels,
        norm_cfg=norm_cfg),
    tile_head=dict(
        in_channels=channels,
        feat_channels=channels,
        norm_cfg=norm_cfg,
        projection=dict(
            in_channels=channels,
            hid_channels=256,
            out_channels=channels,
            norm_cfg=mlp_norm_cfg)),
    head=dict(
        predictor=dict(
            in_channels=channels,
            hid_channels=256,
            out_channels=channels,
            norm_cfg=mlp_norm_cfg)))

# the base pipeline; MontageRunner gives its MontageAssembly the geometry of
# model.montage (tiles of 96, 48 and 24 px)
train_pipeline = {{_base_.train_pipeline}}
train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        _delete_=True,
        type='ImageFolder',
        data_root='data/demo',
        with_label=False,
        pipeline=train_pipeline))

# ForeachLARS: mmpretrain's LARS in multi-tensor ops (bit-equal on the CPU)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='ForeachLARS', lr=0.3, momentum=0.9, weight_decay=1e-5),
    clip_grad=dict(max_norm=500),
    paramwise_cfg=dict(
        custom_keys={
            'bn': dict(decay_mult=0, lars_exclude=True),
            'bias': dict(decay_mult=0, lars_exclude=True),
            'downsample.1': dict(decay_mult=0, lars_exclude=True),
        }))
max_iters = 100
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=10),
    dict(
        type='CosineAnnealingLR',
        T_max=max_iters - 10,
        eta_min=1e-4,
        by_epoch=False,
        begin=10,
        end=max_iters)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(
        type='SafeCheckpointHook',
        by_epoch=False,
        interval=50,
        max_keep_ckpts=2))
log_processor = dict(window_size=10, by_epoch=False)
# watch feature quality: per-level std / erank come with the loss; the dense
# probe (frozen P3-P5 and C5, linear mIoU on the coins photo, built under
# data/coins when missing) runs at iterations 50 and 100
custom_hooks = [
    dict(type='MontageBatchCheckHook'),
    dict(type='NonFiniteLossHook'),
    # SIGTERM / SIGUSR1: a checkpoint at the next iteration, exit code 75
    dict(type='PreemptionHook'),
    # std / erank of the embeddings, on the iterations that log
    dict(type='CollapseMetricsHook'),
    # mixed precision's skipped steps and the grad norms, per log interval
    dict(type='SkippedStepsHook'),
    dict(type='BadImageHook', max_bad_images=10),
    dict(
        type='DenseProbeHook',
        ann_file='data/coins/annotations/coins.json',
        img_dir='data/coins/images',
        size=96,
        interval=50,
        build='coins',
        data_root='data/coins'),
]
auto_scale_lr = dict(base_batch_size=16)
randomness = dict(seed=0)
