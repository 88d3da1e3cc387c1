# MaskCo on the COCO train2017 images (no labels), the ImageNet recipe.
_base_ = './maskco_r50_8xb32-coslr-200e_in1k.py'

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ImageFolder',
        data_root='data/coco/',
        data_prefix='train2017/',
        with_label=False,
        pipeline={{_base_.train_pipeline}}))
