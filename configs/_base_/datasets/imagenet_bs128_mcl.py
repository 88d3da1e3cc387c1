# MCL pre-training data: BYOL's two view pipelines, applied once per montage
# level by MontageAssembly. The montage geometry (resolution, scales, tiles
# per image) belongs to model.montage: MontageRunner copies it into the
# MontageAssembly, which crops each level's copy straight to its tile size
# (`full_size_copies=True`: the authors' full-size copies, shrunk on the
# device).
_base_ = ['./pipelines/byol_views.py']

dataset_type = 'ImageNet'
data_root = 'data/imagenet/'
# the photometric steps of the view pipelines (colour jitter, grey, blur,
# solarize) run batched on the device: MontageRunner moves them into the
# preprocessor, which runs them fused (FusedAugment); `--cfg-options
# model.data_preprocessor.augment_on_device=False` keeps them on the CPU,
# `model.data_preprocessor.fuse_augments=False` runs them one op at a time
data_preprocessor = dict(
    type='MontageDataPreprocessor',
    augment_on_device=True,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)

train_pipeline = [
    dict(type='LoadImageChecked', skip_bad=True),
    dict(
        type='MontageAssembly',
        transforms=[{{_base_.view_pipeline1}}, {{_base_.view_pipeline2}}]),
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
