_base_ = ['./mcl_r50-fpn_32xb128-amp-coslr-100e_in1k.py']

max_epochs = 400
# the authors' schedule form (_base_/schedules/lars_coslr_100e.py): one
# cosine over the whole run, the 10-epoch warm-up multiplying it
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
        T_max=max_epochs,
        eta_min=1e-4,
        by_epoch=True,
        begin=0,
        end=max_epochs,
        convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=max_epochs)
