# Mini transfer run, the base of every pre-trained arm: the CPU demo model
# (R18 + FPN on C3-C5, S=3, 96 px, batch 16, LARS lr 0.3) pre-trained on the
# unlabelled copy-paste images (tools/prepare_paste_data.py ->
# data/paste/pretrain); as it is, the `mcl` arm. The other arms (BYOL, S=1,
# S=2, the authors' per-level blur and forward) are this config with the
# overrides of their row in benchmarks/mini_transfer_arms.py, merged as
# --cfg-options merges. tools/benchmarks/mini_transfer.py sets the
# iterations and the seed.
_base_ = '../../mcl/mcl_r18-fpn_1xb16-96px-s3-100it_demo.py'

max_iters = 400
# the evidence arms (docs/evidence) ran the device augments one op at a
# time (Pillow's HSV hue, kornia's sampled Gaussian blur); every arm keeps
# that recipe
data_preprocessor = dict(fuse_augments=False)
# MontageRunner sets the assembly's geometry from model.montage.
# blur_per_level=False: every level is blurred by the full-size sigma in its
# own pixels, the recipe of the `mcl` evidence arm (docs/evidence/cpu); the
# arms mcl_s2, mcl_s3 and mcl_s3_authors blur as the authors do
train_dataloader = dict(
    dataset=dict(
        data_root='data/paste/pretrain',
        pipeline=[
            dict(type='LoadImageChecked', skip_bad=True),
            dict(
                type='MontageAssembly',
                blur_per_level=False,
                transforms=[{{_base_.view_pipeline1}},
                            {{_base_.view_pipeline2}}]),
            dict(type='PackInputs'),
        ]))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=10),
    dict(
        type='CosineAnnealingLR',
        T_max=max_iters - 10,
        eta_min=1e-4,
        by_epoch=False,
        begin=10,
        end=max_iters)
]
train_cfg = dict(max_iters=max_iters)
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
