# Copyright (c) mcl_mm contributors. All rights reserved.
"""Convert a released or trained checkpoint for a target, with a report.

The targets are registered in :data:`TARGETS`; ``convert_mcl.py`` is the
command line of :func:`convert_file`.
"""
import os.path as osp
import pickle
from dataclasses import dataclass
from functools import partial
from typing import Callable, Dict, Optional, Tuple

import torch

from .load_report import LoadReport, Shapes, architecture, compare, problems
from .sources import Weights, read_weights
from .targets import to_detectron2, to_mcl, to_mmdet, to_mmseg, to_torchvision

PACKAGE = osp.dirname(osp.dirname(osp.abspath(__file__)))
# the configs the package ships, where mim keeps an OpenMMLab package's
# configs (`<package>/.mim/configs`: copies in a wheel, a link to the
# repository's configs/ in an editable install; see setup.py)
CONFIGS = osp.join(PACKAGE, '.mim', 'configs')


def save_openmmlab(state: dict, path: str, source: str) -> None:
    """An OpenMMLab checkpoint: ``load_from`` / ``init_cfg`` read it."""
    torch.save(dict(state_dict=state, meta=dict(converted_from=source)), path)


def save_torch(state: dict, path: str, source: str) -> None:
    """A bare state dict (torchvision's ``load_state_dict``)."""
    torch.save(state, path)


def save_pickle(obj: dict, path: str, source: str) -> None:
    """A detectron2 ``.pkl``."""
    with open(path, 'wb') as f:
        pickle.dump(obj, f)


def torchvision_resnet50(config: Optional[str] = None) -> Shapes:
    """torchvision's ResNet-50 without ``fc``, keys under ``backbone.``."""
    import torchvision
    model = torchvision.models.resnet50()
    return {
        'backbone.' + k: tuple(v.shape)
        for k, v in model.state_dict().items() if not k.startswith('fc.')
    }


@dataclass
class Target:
    """How to write one target and what must load.

    Args:
        convert (Callable): :class:`Weights` -> (state, tensors per group).
        write (Callable): (state, path, source name) -> None.
        config (str, optional): The config whose model is the target
            architecture (relative to the shipped configs,
            :data:`CONFIGS`); None for none.
        expected (Callable, optional): Builds the architecture without a
            config (torchvision).
        strict (bool): Every tensor of the target must be filled.
        report_prefix (str): Prefix the converted keys take in the report
            (torchvision's keys have none).
        uses (Tuple[str, ...]): The online parts (mcl_mm names) the target
            takes; the rest is reported as dropped. Empty: everything,
            the EMA target included.
    """
    convert: Callable[[Weights], Tuple[dict, Dict[str, int]]]
    write: Callable[[dict, str, str], None]
    config: Optional[str] = None
    expected: Optional[Callable[[Optional[str]], Shapes]] = None
    strict: bool = False
    report_prefix: str = ''
    uses: Tuple[str, ...] = ('backbone.', )


DETECTOR_PARTS = ('backbone.', 'neck.', 'tile_head.shared_convs.', 'box_fc.')


def _online(fn: Callable) -> Callable[[Weights], tuple]:
    return lambda weights: fn(weights.online)


TARGETS: Dict[str, Target] = {
    'mmdet':
    Target(
        _online(partial(to_mmdet, fpn_start_level=0)),
        save_openmmlab,
        'benchmarks/mmdetection/mask-rcnn_r50-fpn-conv_syncbn_1x_coco.py',
        uses=DETECTOR_PARTS),
    'mmdet-retinanet':
    Target(
        _online(partial(to_mmdet, fpn_start_level=1, with_box_head=False)),
        save_openmmlab,
        'benchmarks/mmdetection/retinanet_r50-fpn_syncbn_1x_coco.py',
        uses=('backbone.', 'neck.')),
    'mmdet-c4':
    Target(
        _online(partial(to_mmdet, c4=True)),
        save_openmmlab,
        'benchmarks/mmdetection/mask-rcnn_r50-c4_syncbn_1x_coco.py',
        uses=('backbone.', 'tile_head.tile_layer.')),
    'mmseg':
    Target(
        _online(to_mmseg), save_openmmlab,
        'benchmarks/mmsegmentation/fcn_r50-d8_4xb4-20k_voc12aug-512x512.py'),
    'torchvision':
    Target(
        _online(to_torchvision),
        save_torch,
        expected=torchvision_resnet50,
        report_prefix='backbone.'),
    'detectron2':
    Target(_online(to_detectron2), save_pickle, uses=DETECTOR_PARTS),
    'mcl':
    Target(
        lambda w: to_mcl(w.online, w.target, int(w.meta.get('iter', 0) or 1)),
        save_openmmlab,
        'mcl/mcl_r50-fpn_32xb128-amp-coslr-100e_in1k.py',
        strict=True,
        uses=()),
}


def target_architecture(target: Target,
                        config: Optional[str] = None) -> Optional[Shapes]:
    """The architecture of ``target`` (of ``config`` when given)."""
    if target.expected is not None:
        return target.expected(config)
    path = config or (osp.join(CONFIGS, target.config)
                      if target.config else None)
    if path is None or not osp.isfile(path):
        return None
    return architecture(path)


def convert_file(src: str,
                 dst: str,
                 to: str,
                 source: Optional[str] = None,
                 config: Optional[str] = None,
                 allow_partial: bool = False) -> LoadReport:
    """Read ``src``, convert it for ``to``, check it against the target
    architecture and write ``dst``.

    Args:
        src (str): The checkpoint (any registered source format).
        dst (str): The output file.
        to (str): A key of :data:`TARGETS`.
        source (str, optional): Force a source format (``--from``).
        config (str, optional): The downstream config whose model is the
            target (default: the target's benchmark config).
        allow_partial (bool): Write even when :func:`problems` finds some.

    Returns:
        LoadReport: The coverage (``groups`` only counts for targets
        without an architecture, e.g. detectron2).

    Raises:
        ValueError: Listing the problems, unless ``allow_partial``.
    """
    target = TARGETS[to]
    weights = read_weights(src, source)
    state, counts = target.convert(weights)
    if target.uses:
        for key in weights.online:
            if not key.startswith(target.uses):
                weights.dropped[key] = f'no place in the {to} target'
        for key in weights.target:
            weights.dropped['target:' + key] = (
                'EMA target (the online network is converted)')
    expected = target_architecture(target, config)
    if expected is None:
        report = LoadReport({
            g: (n, n)
            for g, n in counts.items()
        },
                            dropped=weights.dropped)
        report.notes.append('no target architecture to check against: '
                            'counts of converted tensors only')
    else:
        keyed = {target.report_prefix + k: v for k, v in state.items()}
        report = compare(keyed, expected, weights.dropped)
        found = problems(report, strict=target.strict)
        if found and not allow_partial:
            raise ValueError(f'{src} ({weights.source}) -> {to}: ' +
                             '; '.join(found) + '\n' + report.format() +
                             '\n(--allow-partial writes it anyway)')
    target.write(state, dst, weights.source)
    return report
