# Mini transfer ablation: the MCL side with one level (S=1, no montage: each
# view is one 96 px tile), otherwise the S=3 run it inherits from (same
# backbone, FPN, head, data, batch, optimiser, schedule, iterations).
# MontageRunner derives the pipeline and the head's levels from the scales.
_base_ = './mcl_r18-fpn_1xb16-96px-s3-400it_paste.py'

model = dict(montage=dict(scales=(1, )))
