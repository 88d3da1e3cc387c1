# SS-PRL on ImageNet-1k: the COCO recipe with batch 256 (8 x 32), 100
# epochs, queues from epoch 15 (SwAV's ImageNet start) and the prototypes
# frozen for the first epoch (5005 iterations).
_base_ = './ssprl_r50_4xb32-amp-lars-coslr-200e_coco.py'

model = dict(queue_start_epoch=15)
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ImageNet',
        data_root='data/imagenet/',
        split='train',
        pipeline={{_base_.train_pipeline}}))
max_epochs = 100
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
train_cfg = dict(max_epochs=max_epochs)
auto_scale_lr = dict(base_batch_size=256)
custom_hooks = [
    dict(type='FreezeByNameHook', frozen_iters=dict(prototype=5005)),
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
