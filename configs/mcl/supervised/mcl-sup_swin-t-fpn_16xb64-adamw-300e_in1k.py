# Supervised multi-level pre-training with Swin-T (mmdet's SwinTransformer)
# + FPN: the R50 recipe's montages and per-level classification with the
# standard Swin-T ImageNet baseline's optimiser: AdamW lr 1e-3 at batch
# 1024, wd 0.05 (none on norms, biases and position tables), 20 warm-up
# epochs, cosine to 1e-5 over 300 epochs, grad clip 5.
_base_ = [
    './mcl-sup_r50-fpn_8xb32-90e_in1k.py',
    '../../_base_/models/swin_t.py',
]

model = dict(
    backbone={{_base_.swin_t}},
    neck=dict(in_channels={{_base_.swin_t_channels}}))
train_dataloader = dict(batch_size=64)

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=0.05,
        eps=1e-8),
    clip_grad=dict(max_norm=5.0),
    paramwise_cfg={{_base_.swin_paramwise_cfg}})
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-3,
        by_epoch=True,
        begin=0,
        end=20,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=280,
        eta_min=1e-5,
        by_epoch=True,
        begin=20,
        end=300),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=300)
auto_scale_lr = dict(base_batch_size=1024)
