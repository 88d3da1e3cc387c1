# MaskCo on ImageNet-1k: 8 GPUs x 32 images (so each query meets 16 boxes of
# each of the 31 other images on its GPU: 496 negatives), 200 epochs, SGD
# lr 0.03 (batch 256), momentum 0.9, wd 1e-4, cosine; MoCo v2's colour
# augmentations on both views.
_base_ = [
    '../_base_/models/maskco_r50.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mcl_mm'], allow_failed_imports=False)

colour = [
    dict(
        type='RandomApply',
        transforms=[
            dict(
                type='ColorJitter',
                brightness=0.4,
                contrast=0.4,
                saturation=0.4,
                hue=0.1)
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
    dict(
        type='MaskCoViews',
        size=224,
        num_neg_boxes=16,
        transforms=[colour, colour]),
    dict(type='PackInputs', algorithm_keys=('mask_box', 'key_boxes')),
]
train_dataloader = dict(
    batch_size=32,
    num_workers=8,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='ImageNet',
        data_root='data/imagenet/',
        split='train',
        pipeline=train_pipeline))

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.03, weight_decay=1e-4, momentum=0.9))
max_epochs = 200
param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs,
        by_epoch=True,
        begin=0,
        end=max_epochs)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
auto_scale_lr = dict(base_batch_size=256)
default_hooks = dict(
    checkpoint=dict(type='SafeCheckpointHook', interval=10, max_keep_ckpts=3))
custom_hooks = [
    dict(type='NonFiniteLossHook'),
    # SIGTERM / SIGUSR1: a checkpoint at the next iteration, exit code 75
    dict(type='PreemptionHook'),
    # std / erank of the embeddings, on the iterations that log
    dict(type='CollapseMetricsHook'),
    # mixed precision's skipped steps and the grad norms, per log interval
    dict(type='SkippedStepsHook'),
    dict(type='BadImageHook', max_bad_images=10),
]
# a rank that dies stops the others within this many seconds (the process
# group's timeout; mmengine's default is 30 min)
env_cfg = dict(dist_cfg=dict(timeout=600))
