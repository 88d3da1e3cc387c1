# The MCL authors' ImageNet schedule: LARS, lr 1.0 x total_batch / 256
# (16.0 at 32 x 128), wd 1e-5 (BN and biases excluded from decay and LARS),
# 10 linear warm-up epochs, cosine to 1e-4, fp16, gradient clip 500.
optim_wrapper = dict(
    type='AmpOptimWrapper',
    loss_scale='dynamic',
    optimizer=dict(type='LARS', lr=16.0, momentum=0.9, weight_decay=1e-5),
    clip_grad=dict(max_norm=500),
    paramwise_cfg=dict(
        custom_keys={
            'bn': dict(decay_mult=0, lars_exclude=True),
            'bias': dict(decay_mult=0, lars_exclude=True),
            # the ResNet downsample branches' BN is named downsample.1; the
            # other norms (ResNet bn1-3, FPN and tile-head ConvModule bn,
            # MLP bn0/bn1) contain 'bn' and match the first key
            'downsample.1': dict(decay_mult=0, lars_exclude=True),
        }))

max_epochs = 100
warmup_epochs = 10
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-4,
        by_epoch=True,
        begin=0,
        end=warmup_epochs,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs - warmup_epochs,
        eta_min=1e-4,
        by_epoch=True,
        begin=warmup_epochs,
        end=max_epochs,
        convert_to_iter_based=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)

# lr 16.0 is for a total batch of 4096; `--auto-scale-lr` rescales it.
auto_scale_lr = dict(base_batch_size=4096)
