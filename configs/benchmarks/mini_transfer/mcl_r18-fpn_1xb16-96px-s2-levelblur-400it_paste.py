# Mini transfer arm `mcl_s2`: `mcl_s3` with two levels (scales 1 and 2;
# the FPN is built on C4-C5). MontageRunner derives the pipeline and the
# head's levels from the scales.
_base_ = './mcl_r18-fpn_1xb16-96px-s3-levelblur-400it_paste.py'

model = dict(montage=dict(scales=(1, 2)))
