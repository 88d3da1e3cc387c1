# MaskCo on a Conceptual-Captions-style folder of images (e.g. the CC3M
# images downloaded to data/cc/images/; captions unused), the ImageNet
# recipe.
_base_ = './maskco_r50_8xb32-coslr-200e_in1k.py'

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ImageFolder',
        data_root='data/cc/',
        data_prefix='images/',
        with_label=False,
        pipeline={{_base_.train_pipeline}}))
