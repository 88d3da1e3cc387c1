# RetinaNet 6x: 540k iterations at batch 16 (8 GPUs x 2).
_base_ = './retinanet_r50-fpn_syncbn_1x_coco.py'

max_iters = 540000
train_cfg = dict(
    _delete_=True,
    type='IterBasedTrainLoop',
    max_iters=max_iters,
    val_interval=45000)
train_dataloader = dict(sampler=dict(type='InfiniteSampler'))
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_iters,
        by_epoch=False,
        milestones=[480000, 520000],
        gamma=0.1)
]
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=45000))
log_processor = dict(by_epoch=False)
