# Copyright (c) mcl_mm contributors. All rights reserved.
"""Steps of the training pipeline move to the device: the photometric ones
(:func:`apply_device_augment`), then the crops (:func:`apply_device_crop`).
"""
from typing import List, Optional, Tuple

import torch
from mmengine.config import Config
from mmengine.logging import print_log

from ..montage import CROP_TYPES, PILLOW_FILTERS, assemblies, find_steps
from .base import spec_config_of

PACK_TYPES = ('PackInputs', 'mmpretrain.PackInputs')


def _data_preprocessor(cfg: Config) -> Optional[dict]:
    """The model's data preprocessor config. A ``model.data_preprocessor``
    without a type (an override such as ``--cfg-options
    model.data_preprocessor.augment_on_device=False``) is merged into the
    top-level ``data_preprocessor`` here; mmengine's Runner would take it
    alone and build a preprocessor of the wrong type."""
    model = cfg.get('model', {})
    pre, top = model.get('data_preprocessor'), cfg.get('data_preprocessor')
    if pre is not None and 'type' not in pre and top:
        pre = dict(top, **pre)
        cfg.model['data_preprocessor'] = pre
    return pre or top


def split_pipeline(pipeline: List[dict]) -> Tuple[List[dict], List[dict]]:
    """Split a view pipeline into the steps that stay on the CPU and the
    spec configs of those that move to the device.

    A step moves when a spec of :data:`AUGMENTS` stands for it
    (:func:`spec_config_of`); the moved steps keep their order and run
    after the CPU steps, so they must be the pipeline's last steps.

    Args:
        pipeline (List[dict]): A view pipeline's configs.

    Returns:
        Tuple[List[dict], List[dict]]: The CPU steps, and the spec configs
        in order.

    Raises:
        ValueError: If a step without a spec follows one with a spec (the
            order could not be kept).
    """
    kept, moved = [], []
    for step in pipeline:
        spec = spec_config_of(step)
        if spec is not None:
            moved.append(spec)
        elif moved:
            raise ValueError(
                f'{step.get("type")} follows a photometric step in a '
                'MontageAssembly view pipeline: it cannot stay on the CPU '
                'while those move to the device; set '
                'model.data_preprocessor.augment_on_device=False')
        else:
            kept.append(step)
    return kept, moved


def apply_device_augment(cfg: Config) -> Config:
    """Move the photometric view transforms to the device.

    When the model's data preprocessor is a ``MontageDataPreprocessor``
    with ``augment_on_device=True``, the steps of every MontageAssembly view
    pipeline that an augmentation spec stands for (:func:`split_pipeline`)
    leave the pipeline and become the preprocessor's ``augments``, in order
    and with the same arguments. With ``augment_on_device=False`` (or
    another preprocessor) nothing changes: the CPU workers run the whole
    recipe.

    Args:
        cfg (Config): A training config; changed in place.

    Returns:
        Config: ``cfg``.

    Raises:
        ValueError: If a CPU-only step follows a photometric one.
    """
    pre = _data_preprocessor(cfg)
    if not pre or pre.get('type') != 'MontageDataPreprocessor' or \
            not pre.get('augment_on_device', True):
        return cfg
    found = assemblies(cfg.get('train_dataloader'))
    if not found:
        return cfg
    augments = None
    for assembly in found:
        split = [split_pipeline(p) for p in assembly['transforms']]
        assembly['transforms'] = [kept for kept, _ in split]
        augments = augments or [moved for _, moved in split]
    if not any(augments):
        # nothing left to move: a config this already ran on (the one a run
        # dumps into its work dir) keeps the preprocessor's augments
        return cfg
    # the pipeline's blur switch holds for the blur it moved
    pre = dict(
        pre,
        augments=augments,
        blur_per_level=found[0].get('blur_per_level', True))
    cfg.model['data_preprocessor'] = pre
    print_log(
        'photometric view augmentation on the device: ' +
        '; '.join(', '.join(t['type'] for t in p) for p in augments),
        logger='current')
    return cfg


def _crop_interpolation(pipeline: List[dict]) -> str:
    """The filter of a view pipeline's crop (mmpretrain's default:
    bilinear)."""
    crops = [t for t in pipeline if t.get('type') in CROP_TYPES]
    name = crops[0].get('interpolation', 'bilinear') if crops else 'bilinear'
    if name not in PILLOW_FILTERS:
        raise ValueError(
            f'RandomResizedCrop(interpolation={name!r}) cannot be cut on '
            f'the device (Pillow filters: {sorted(PILLOW_FILTERS)}); set '
            'model.data_preprocessor.crop_on_device=False')
    return name


def apply_device_crop(cfg: Config) -> Config:
    """Cut the views' crops on the device when training on a GPU.

    ``model.data_preprocessor.crop_on_device`` (``'auto'``: when CUDA is
    available and ``augment_on_device`` is set) is resolved to True or
    False. When True, every MontageAssembly of the training pipeline only
    draws the crop boxes (``crop_on_device=True``), ``PackInputs`` carries
    them (``algorithm_keys`` gets ``crop_boxes``), the loader pads the
    images of different sizes into one tensor (:func:`pad_collate`) and
    the preprocessor gets each view pipeline's crop interpolation and the
    assembly's ``full_size_copies``. Run it after
    :func:`apply_device_augment`: the crop leaves a pipeline whose
    photometric steps have moved.

    Args:
        cfg (Config): A training config; changed in place.

    Returns:
        Config: ``cfg``.

    Raises:
        ValueError: If ``crop_on_device`` is neither ``'auto'`` nor a
            bool, is True without ``augment_on_device``, or a crop's
            interpolation has no Pillow filter.
    """
    pre = _data_preprocessor(cfg)
    if not pre or pre.get('type') != 'MontageDataPreprocessor':
        return cfg
    wanted = pre.get('crop_on_device', 'auto')
    on_device = pre.get('augment_on_device', True)
    if wanted == 'auto':
        wanted = on_device and torch.cuda.is_available()
    elif not isinstance(wanted, bool):
        raise ValueError(
            'model.data_preprocessor.crop_on_device: expected "auto", True '
            f'or False, got {wanted!r}')
    elif wanted and not on_device:
        raise ValueError(
            'model.data_preprocessor.crop_on_device=True needs '
            'augment_on_device=True: the photometric steps follow the crop')
    found = assemblies(cfg.get('train_dataloader'))
    if not (wanted and found):
        cfg.model['data_preprocessor'] = dict(pre, crop_on_device=False)
        return cfg
    for assembly in found:
        assembly['crop_on_device'] = True
    pre = dict(
        pre,
        crop_on_device=True,
        crop_interpolation=[
            _crop_interpolation(p) for p in found[0]['transforms']
        ],
        full_size_copies=found[0].get('full_size_copies', False))
    cfg.model['data_preprocessor'] = pre
    for pack in find_steps(cfg.train_dataloader, PACK_TYPES):
        keys = list(pack.get('algorithm_keys', ()))
        pack['algorithm_keys'] = keys + ['crop_boxes'] * ('crop_boxes'
                                                          not in keys)
    cfg.train_dataloader['collate_fn'] = dict(type='pad_collate')
    print_log(
        'crops on the device: the data workers decode and draw the crop '
        'boxes; the preprocessor cuts them with Pillow\'s '
        f'{"/".join(dict.fromkeys(pre["crop_interpolation"]))} filter',
        logger='current')
    return cfg
