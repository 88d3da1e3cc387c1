# The 200-epoch run of the ImageNet-1k recipe: the cosine of
# _base_/schedules/lars_coslr_100e.py spans the whole run.
_base_ = ['./mcl_r50-fpn_32xb128-amp-coslr-100e_in1k.py']

train_cfg = dict(max_epochs=200)
