# Mini transfer arm `mcl_s3`: the MCL side (S=3) with the authors' blur per
# level (a level-i copy is blurred by sigma / r_i of its own pixels, as the
# full-size copy blurred and then shrunk); otherwise the `mcl` arm.
_base_ = './mcl_r18-fpn_1xb16-96px-s3-400it_paste.py'

train_dataloader = dict(
    dataset=dict(pipeline=[
        dict(type='LoadImageChecked', skip_bad=True),
        dict(
            type='MontageAssembly',
            num_levels=3,
            tile_sizes=[96, 48, 24],
            blur_per_level=True,
            transforms=[{{_base_.view_pipeline1}}, {{_base_.view_pipeline2}}]),
        dict(type='PackInputs'),
    ]))
