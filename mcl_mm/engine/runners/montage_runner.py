# Copyright (c) mcl_mm contributors. All rights reserved.
"""The data pipeline follows the model's montage: one named mechanism."""
from typing import Any, List, Optional

from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from ...models.data_preprocessors import device_transform_of

ASSEMBLY_TYPES = ('MontageAssembly', 'mmpretrain.MontageAssembly')


def _assemblies(node: Any) -> List[dict]:
    """Every MontageAssembly config under ``node`` (any dataset wrapper)."""
    if isinstance(node, dict):
        found = [node] if node.get('type') in ASSEMBLY_TYPES else []
        for value in node.values():
            found += _assemblies(value)
        return found
    if isinstance(node, (list, tuple)):
        return [t for value in node for t in _assemblies(value)]
    return []


def apply_montage_geometry(cfg: Config) -> Config:
    """Make the training pipeline follow ``cfg.model.montage``.

    ``model.montage.scales`` and ``resolution`` are the one source of the
    montage geometry; the model derives its part when it is built. This
    sets, in every ``MontageAssembly`` of ``cfg.train_dataloader``,
    ``num_levels`` to the number of scales and ``tile_sizes`` (unless it
    is None, the authors' full-size copies) to ``resolution // r_i``. A
    config without ``model.montage`` is returned as it is.

    Args:
        cfg (Config): A training config; changed in place.

    Returns:
        Config: ``cfg``.
    """
    montage = cfg.get('model', {}).get('montage')
    if montage is None:
        return cfg
    scales = tuple(montage.get('scales', (1, 2, 4)))
    resolution = montage['resolution']
    for assembly in _assemblies(cfg.get('train_dataloader')):
        geometry = dict(num_levels=len(scales))
        if assembly.get('tile_sizes') is not None:
            geometry['tile_sizes'] = [resolution // r for r in scales]
        changed = {k: v for k, v in geometry.items() if assembly.get(k) != v}
        if changed:
            print_log(
                f'MontageAssembly follows model.montage (scales={scales}, '
                f'resolution={resolution}): {changed}',
                logger='current')
            assembly.update(changed)
    return cfg


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


def apply_device_augment(cfg: Config) -> Config:
    """Move the photometric view transforms to the device.

    When the model's data preprocessor is a ``MontageDataPreprocessor``
    with ``augment_on_device=True``, the steps of every MontageAssembly view
    pipeline that have a device twin (``RandomApply([ColorJitter])``,
    ``RandomGrayscale``, ``GaussianBlur``, ``Solarize``; see
    :func:`device_transform_of`) leave the pipeline and become the
    preprocessor's ``augments``, in order and with the same arguments. With
    ``augment_on_device=False`` (or another preprocessor) nothing changes:
    the CPU workers run the whole recipe.

    Args:
        cfg (Config): A training config; changed in place.

    Returns:
        Config: ``cfg``.

    Raises:
        ValueError: If a CPU-only step follows a photometric one (the order
            could not be kept).
    """
    pre = _data_preprocessor(cfg)
    if not pre or pre.get('type') != 'MontageDataPreprocessor' or \
            not pre.get('augment_on_device', True):
        return cfg
    assemblies = _assemblies(cfg.get('train_dataloader'))
    if not assemblies:
        return cfg
    augments = None
    for assembly in assemblies:
        kept_pipelines, moved_pipelines = [], []
        for pipeline in assembly['transforms']:
            kept, moved = [], []
            for step in pipeline:
                device = device_transform_of(step)
                if device is not None:
                    moved.append(device)
                elif moved:
                    raise ValueError(
                        f'{step.get("type")} follows a photometric step in '
                        'a MontageAssembly view pipeline: it cannot stay on '
                        'the CPU while those move to the device; set '
                        'model.data_preprocessor.augment_on_device=False')
                else:
                    kept.append(step)
            kept_pipelines.append(kept)
            moved_pipelines.append(moved)
        assembly['transforms'] = kept_pipelines
        augments = augments or moved_pipelines
    if not any(augments):
        # nothing left to move: a config this already ran on (the one a run
        # dumps into its work dir) keeps the preprocessor's augments
        return cfg
    # the pipeline's blur switch holds for the blur it moved
    pre = dict(
        pre,
        augments=augments,
        blur_per_level=assemblies[0].get('blur_per_level', True))
    cfg.model['data_preprocessor'] = pre
    print_log(
        'photometric view augmentation on the device: ' +
        '; '.join(', '.join(t['type'] for t in p) for p in augments),
        logger='current')
    return cfg


@RUNNERS.register_module()
class MontageRunner(Runner):
    """mmengine's ``Runner`` for montage models: before building anything,
    the training pipeline takes its geometry from ``model.montage``
    (:func:`apply_montage_geometry`), so ``--cfg-options
    model.montage.scales=(1,2)`` changes the whole run, and the photometric
    view transforms move to the device (:func:`apply_device_augment`).

    Selected with ``runner_type = 'MontageRunner'`` in a config. It is
    registered in mmengine's root ``RUNNERS``: training scripts build the
    runner before any default scope is set.
    """

    @classmethod
    def from_cfg(cls, cfg: Config) -> Runner:
        """Build the runner from ``cfg`` after applying the geometry.

        Args:
            cfg (Config): The training config.

        Returns:
            Runner: The runner.
        """
        return super().from_cfg(
            apply_device_augment(apply_montage_geometry(cfg)))
