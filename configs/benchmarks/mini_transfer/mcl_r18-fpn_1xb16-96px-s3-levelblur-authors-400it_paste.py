# Mini transfer arm `mcl_s3_authors`: `mcl_s3` in the authors' forward
# (backbone and every FPN output over all montages of all levels together,
# the tile head over every cell of every output, the target on all
# montages): the same tiles and loss, the authors' batch statistics.
_base_ = './mcl_r18-fpn_1xb16-96px-s3-levelblur-400it_paste.py'

model = dict(forward_mode='authors')
