import pytest
import torch
from mmdet.models.necks import FPN

from mcl_mm.models import fpn_single_output


@pytest.mark.parametrize(
    'upsample_cfg',
    [dict(mode='nearest'),
     dict(scale_factor=2, mode='nearest')])
def test_single_output_equals_full_fpn(upsample_cfg):
    torch.manual_seed(0)
    fpn = FPN([8, 16, 32, 64],
              8,
              num_outs=4,
              norm_cfg=dict(type='BN'),
              upsample_cfg=upsample_cfg).eval()
    inputs = [
        torch.rand(2, c, s, s) for c, s in zip([8, 16, 32, 64], [32, 16, 8, 4])
    ]
    outs = fpn(inputs)
    for index in range(4):
        torch.testing.assert_close(
            fpn_single_output(fpn, inputs, index), outs[index])
    with pytest.raises(ValueError, match='outside the FPN outputs'):
        fpn_single_output(fpn, inputs, 4)
