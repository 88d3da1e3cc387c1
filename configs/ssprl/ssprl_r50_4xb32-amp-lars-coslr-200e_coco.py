# SS-PRL on the COCO train2014 images (the authors' setting): R50, pyramid
# views (2 x 224 + 6 x 96 global crops; 2 x 4 patches of 112 from a 314 crop
# split 2x2; 2 x 9 patches of 96 from a 383 crop split 3x3), per-grid
# SwAV projections and prototypes (K = 300, 150, 150), T = 0.1,
# Sinkhorn eps 0.05 x 3, alpha = beta = (1, .25, .25), lambda = 1.
# Batch 128 (4 x 32), LARS (trust 0.001, no clipping) lr 0.6, no warm-up,
# cosine per iteration to 0.0006, wd 1e-6 on all parameters, fp16 (here
# bfloat16 where the GPU has it: MixedPrecisionOptimWrapper),
# 200 epochs; queues (1920 global, 5000 local) from epoch 80; prototypes
# and correlation learners frozen for the first 648 iterations.
_base_ = 'mmpretrain::_base_/default_runtime.py'
custom_imports = dict(imports=['mcl_mm'], allow_failed_imports=False)
# a rank that dies stops the others within this many seconds (the process
# group's timeout; mmengine's default is 30 min)
env_cfg = dict(dist_cfg=dict(timeout=600))

norm_cfg = dict(type='SyncBN')
projection = dict(
    type='SwAVNeck',
    in_channels=2048,
    hid_channels=2048,
    out_channels=128,
    with_avg_pool=True,
    norm_cfg=norm_cfg)
model = dict(
    type='SSPRL',
    channels_last=True,
    num_patches=(4, 9),
    queue_start_epoch=80,
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    backbone=dict(
        type='ResNet', depth=50, norm_cfg=norm_cfg, zero_init_residual=True),
    necks=[projection, projection, projection],
    head=dict(
        type='SSPRLHead',
        feat_dim=128,
        num_prototypes=(300, 150, 150),
        grid_weights=(1.0, 0.25, 0.25),
        cross_weights=(0.25, 0.25),
        cross_lambda=1.0,
        cross_mode='scores',
        temperature=0.1,
        epsilon=0.05,
        sinkhorn_iterations=3,
        num_crops=(2, 6),
        global_queue=1920,
        local_queue=5000))

view_pipeline = [
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='RandomApply',
        transforms=[
            dict(
                type='ColorJitter',
                brightness=0.8,
                contrast=0.8,
                saturation=0.8,
                hue=0.2)
        ],
        prob=0.8),
    dict(
        type='RandomGrayscale',
        prob=0.2,
        keep_channels=True,
        channel_weights=(0.114, 0.587, 0.2989)),
    dict(
        type='GaussianBlur',
        magnitude_range=(0.1, 2.0),
        magnitude_std='inf',
        prob=0.5),
]
train_pipeline = [
    dict(type='LoadImageChecked', skip_bad=True),
    dict(type='PyramidViews', transforms=view_pipeline),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=32,
    num_workers=8,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='ImageFolder',
        data_root='data/coco/',
        data_prefix='train2014/',
        with_label=False,
        pipeline=train_pipeline))

optim_wrapper = dict(
    type='MixedPrecisionOptimWrapper',
    dtype='auto',
    optimizer=dict(
        type='LARS', lr=0.6, momentum=0.9, weight_decay=1e-6, eta=0.001))
max_epochs = 200
param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs,
        eta_min=6e-4,
        by_epoch=True,
        begin=0,
        end=max_epochs,
        convert_to_iter_based=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
auto_scale_lr = dict(base_batch_size=128)
default_hooks = dict(
    checkpoint=dict(type='SafeCheckpointHook', interval=10, max_keep_ckpts=3))
custom_hooks = [
    # 'prototype' names the prototypes and the correlation learners
    dict(type='FreezeByNameHook', frozen_iters=dict(prototype=648)),
    dict(type='NonFiniteLossHook'),
    # SIGTERM / SIGUSR1: a checkpoint at the next iteration, exit code 75
    dict(type='PreemptionHook'),
    # std / erank of the embeddings, on the iterations that log
    dict(type='CollapseMetricsHook'),
    # mixed precision's skipped steps and the grad norms, per log interval
    dict(type='SkippedStepsHook'),
    # unreadable images are skipped (LoadImageChecked); stop past 10
    dict(type='BadImageHook', max_bad_images=10),
]
