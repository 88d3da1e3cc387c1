# Copyright (c) mcl_mm contributors. All rights reserved.
"""The training pipeline takes its geometry from ``model.montage``."""
from typing import Any, List, Sequence

from mmengine.config import Config
from mmengine.logging import print_log

from .geometry import MontageGeometry

ASSEMBLY_TYPES = ('MontageAssembly', 'mmpretrain.MontageAssembly')
CROP_TYPES = ('RandomResizedCrop', 'mmpretrain.RandomResizedCrop')
# MontageAssembly arguments that stated sizes before the geometry did
_RETIRED = dict(
    num_levels='the number of model.montage.scales',
    tile_sizes='model.montage (full_size_copies=True for full-size copies)')


def find_steps(node: Any, types: Sequence[str]) -> List[dict]:
    """Every config of one of ``types`` under ``node`` (any dataset
    wrapper, any nesting).

    Args:
        node (Any): A config node, e.g. ``cfg.train_dataloader``.
        types (Sequence[str]): The ``type`` values to find.

    Returns:
        List[dict]: The configs found, in place.
    """
    if isinstance(node, dict):
        found = [node] if node.get('type') in types else []
        for value in node.values():
            found += find_steps(value, types)
        return found
    if isinstance(node, (list, tuple)):
        return [t for value in node for t in find_steps(value, types)]
    return []


def assemblies(node: Any) -> List[dict]:
    """Every MontageAssembly config under ``node`` (any dataset wrapper).

    Args:
        node (Any): A config node, e.g. ``cfg.train_dataloader``.

    Returns:
        List[dict]: The MontageAssembly configs, in place.
    """
    return find_steps(node, ASSEMBLY_TYPES)


def apply_montage_geometry(cfg: Config) -> Config:
    """Give every ``MontageAssembly`` of the training pipeline the geometry
    of ``cfg.model.montage``.

    ``model.montage`` is the one source of the montage sizes: the model
    reads it when it is built, and this copies its geometry
    (:class:`MontageGeometry`) into each ``MontageAssembly`` of
    ``cfg.train_dataloader`` as ``geometry``, from which the assembly
    takes each level's crop size and blur scale. A config without
    ``model.montage`` is returned as it is (its assemblies state their
    ``geometry`` themselves).

    Args:
        cfg (Config): A training config; changed in place.

    Returns:
        Config: ``cfg``.

    Raises:
        ValueError: If an assembly still states ``num_levels`` or
            ``tile_sizes``.
    """
    found = assemblies(cfg.get('train_dataloader'))
    for assembly in found:
        stated = sorted(set(_RETIRED) & set(assembly))
        if stated:
            raise ValueError(
                f'MontageAssembly: {", ".join(stated)} are set by the '
                'geometry: ' + '; '.join(f'{k} follows {_RETIRED[k]}'
                                         for k in stated) +
                f'. Remove {stated} from the pipeline config.')
    montage = cfg.get('model', {}).get('montage')
    if montage is None:
        return cfg
    geometry = MontageGeometry.from_cfg(montage)
    for assembly in found:
        stated = assembly.get('geometry')
        if stated is None or MontageGeometry.from_cfg(stated) != geometry:
            print_log(
                'MontageAssembly follows model.montage: '
                f'geometry={geometry.to_cfg()}',
                logger='current')
            assembly['geometry'] = geometry.to_cfg()
    return cfg
