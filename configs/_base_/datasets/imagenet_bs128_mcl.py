# MCL pre-training data: BYOL's two view pipelines (crop scale 0.2-1),
# applied once per montage level by MontageAssembly.
dataset_type = 'ImageNet'
data_root = 'data/imagenet/'
# the photometric steps of the view pipelines below (colour jitter, grey,
# blur, solarize) run batched on the device: MontageRunner moves them into
# the preprocessor, which runs them fused (FusedAugment); `--cfg-options
# model.data_preprocessor.augment_on_device=False` keeps them on the CPU,
# `model.data_preprocessor.fuse_augments=False` runs them one op at a time
data_preprocessor = dict(
    type='MontageDataPreprocessor',
    augment_on_device=True,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)

# The montage geometry belongs to model.montage: MontageRunner sets the
# MontageAssembly's num_levels and tile_sizes from it before the run; the
# values written here match the authors' S=4 at 224 px.
resolution = 224
num_levels = 4

view_pipeline1 = [
    dict(
        type='RandomResizedCrop',
        scale=resolution,
        crop_ratio_range=(0.2, 1.0),
        interpolation='bicubic',
        backend='pillow'),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='RandomApply',
        transforms=[
            dict(
                type='ColorJitter',
                brightness=0.4,
                contrast=0.4,
                saturation=0.2,
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
        prob=1.),
    dict(type='Solarize', thr=128, prob=0.),
]
view_pipeline2 = [
    dict(
        type='RandomResizedCrop',
        scale=resolution,
        crop_ratio_range=(0.2, 1.0),
        interpolation='bicubic',
        backend='pillow'),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='RandomApply',
        transforms=[
            dict(
                type='ColorJitter',
                brightness=0.4,
                contrast=0.4,
                saturation=0.2,
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
        prob=0.1),
    dict(type='Solarize', thr=128, prob=0.2)
]
train_pipeline = [
    dict(type='LoadImageChecked', skip_bad=True),
    dict(
        type='MontageAssembly',
        num_levels=num_levels,
        # crop each level's copy straight to its tile size (224, 112, 56,
        # 28) instead of building 224 px copies the device then shrinks
        # (the authors' way: set tile_sizes=None)
        tile_sizes=[resolution // 2**i for i in range(num_levels)],
        transforms=[view_pipeline1, view_pipeline2]),
    dict(type='PackInputs')
]

train_dataloader = dict(
    batch_size=128,
    num_workers=8,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        pipeline=train_pipeline))
