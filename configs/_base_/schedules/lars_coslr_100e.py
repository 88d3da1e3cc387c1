# The MCL authors' ImageNet schedule (configs/selfsup/MCL/MCL.py and
# hooks/lr_hook.py of their code): LARS, lr 1.0 x total_batch / 256 (16.0 at
# 32 x 128), momentum 0.9, wd 1e-5, fp16, gradient clip 500; one cosine from
# 16.0 to 1e-4 over the whole run, multiplied during the first 10 epochs by
# a linear warm-up from 1e-4 (mmcv's warm-up scales the cosine's value: lr
# peaks at 15.6 near epoch 10 and is 8.0 at epoch 50 of 100). The two
# schedulers below overlap, so mmengine multiplies them.
#
# Weight decay and LARS scaling are skipped for what the authors' regexes
# '(bn|gn)(\d+)?.(weight|bias)' and 'bias' match in their module names:
# every bias, and the weights of the norm layers named bn* there (ResNet
# bn1-3, FPN and tile-head ConvModule norms). Their names leave the ResNet
# downsample norms (downsample.1) and the MLP norms (mlp.1) under both,
# which in this package's names are downsample.1 and the NonLinearNeck
# bn0 of the projection and the predictors. mmengine matches custom_keys as
# substrings, the longest key first.
#
# ForeachLARS is mmpretrain's LARS in multi-tensor ops without host syncs
# (bit-equal updates on the CPU; type='LARS' gives the stock one).
# Mixed precision: bfloat16 where the GPU has it (Ampere and later; no loss
# scale), else the authors' fp16 (apex O1, loss scale at most 2^14); skipped
# steps are counted (SkippedStepsHook).
optim_wrapper = dict(
    type='MixedPrecisionOptimWrapper',
    dtype='auto',
    optimizer=dict(
        type='ForeachLARS', lr=16.0, momentum=0.9, weight_decay=1e-5),
    clip_grad=dict(max_norm=500),
    paramwise_cfg=dict(
        custom_keys={
            'downsample.1.weight': dict(decay_mult=1.0),
            'bn0.weight': dict(decay_mult=1.0),
            'bias': dict(decay_mult=0, lars_exclude=True),
            'bn': dict(decay_mult=0, lars_exclude=True),
        }))

# The cosine ends with the run: mmengine's Runner sets a scheduler's `end` to
# train_cfg.max_epochs when it is not given, and `T_max` is `end - begin`,
# so a config of another length sets `train_cfg = dict(max_epochs=N)` only.
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-4,
        by_epoch=True,
        begin=0,
        end=10,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        eta_min=1e-4,
        by_epoch=True,
        begin=0,
        convert_to_iter_based=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=100)

# lr 16.0 is for a total batch of 4096; `--auto-scale-lr` rescales it.
auto_scale_lr = dict(base_batch_size=4096)
