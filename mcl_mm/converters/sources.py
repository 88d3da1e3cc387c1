# Copyright (c) mcl_mm contributors. All rights reserved.
"""Read released self-supervised checkpoints into mcl_mm's naming.

Every source format is a function registered in :data:`SOURCES` under its
name; :func:`read_weights` picks the first whose keys match (or the one
named by ``--from``) and returns :class:`Weights`: the online network in
mcl_mm's MCL names (``backbone.*`` an mmpretrain / torchvision ResNet,
``neck.{lateral,fpn}_convs.i.{conv,bn}.*`` an mmdet FPN,
``tile_head.shared_convs.i.{conv,bn}.*`` the 4-conv head,
``tile_head.projection.*`` and ``head.predictors.i.*`` mmpretrain
``NonLinearNeck`` layers, ``box_fc.*`` a detector's first box-head fc), the
EMA target in the same names where the source has one, and every source
tensor that was left out with the reason.
"""
import re
from dataclasses import dataclass, field
from typing import Callable, Dict, Optional, Tuple

import numpy as np
import torch

from .checkpoint_file import read_checkpoint
from .state_dict import State, default_format, prefixed


@dataclass
class Weights:
    """A checkpoint in mcl_mm's names.

    Args:
        source (str): The format it was read as.
        online (State): The online (query) network.
        target (State): The EMA target / momentum network, where kept.
        dropped (Dict[str, str]): Source keys left out -> why.
        meta (dict): The source's plain metadata (epoch, iteration).
    """
    source: str
    online: State
    target: State = field(default_factory=dict)
    dropped: Dict[str, str] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)


Reader = Callable[[dict], Optional[Weights]]
SOURCES: Dict[str, Reader] = {}


def register_source(name: str) -> Callable[[Reader], Reader]:
    """Register a reader: it returns :class:`Weights`, or None when the
    checkpoint is not of its format."""

    def register(reader: Reader) -> Reader:
        SOURCES[name] = reader
        return reader

    return register


def _rename(state: State, rules: Tuple[Tuple[str, str], ...],
            dropped: Dict[str, str], why: str) -> State:
    """Apply the first matching (regex, replacement) rule to every key; keys
    no rule matches go to ``dropped`` with ``why``."""
    out = {}
    for key, value in state.items():
        for pattern, repl in rules:
            if re.match(pattern, key):
                out[re.sub(pattern, repl, key)] = torch.as_tensor(value)
                break
        else:
            dropped[key] = why
    return out


def _meta(ckpt: dict) -> dict:
    meta = ckpt.get('meta') or {}
    plain = {
        k: v
        for k, v in meta.items() if isinstance(v, (int, float, str, bool))
    }
    if isinstance(ckpt.get('epoch'), int):
        plain.setdefault('epoch', ckpt['epoch'])
    return plain


def _state_of(ckpt: dict) -> State:
    for key in ('state_dict', 'model'):
        if isinstance(ckpt.get(key), dict):
            return ckpt[key]
    return ckpt


# --- mcl_mm ----------------------------------------------------------------


@register_source('mcl_mm')
def read_mcl_mm(ckpt: dict) -> Optional[Weights]:
    """mcl_mm's own MCL checkpoints (``backbone.``, ``tile_head.``, EMA
    target under ``target_net.module.{0,1,2}``)."""
    state = _state_of(ckpt)
    if not any(k.startswith('tile_head.') for k in state):
        return None
    online = {
        k: v
        for k, v in state.items() if not k.startswith('target_net.')
    }
    target = {}
    for i, part in enumerate(('backbone.', 'neck.', 'tile_head.')):
        target.update({
            part + k: v
            for k, v in prefixed(state, f'target_net.module.{i}.').items()
        })
    dropped = {
        k: 'EMA bookkeeping'
        for k in state if k.startswith('target_net.')
        and not k.startswith('target_net.module.')
    }
    return Weights('mcl_mm', online, target, dropped, _meta(ckpt))


# --- the MCL authors (OpenSelfSup fork) -------------------------------------

# encoder_q / encoder_k: (backbone, FPN, head with cls_convs and mlp)
_AUTHORS_ENCODER = (
    (r'^0\.', 'backbone.'),
    (r'^1\.(lateral_convs|fpn_convs)\.', r'neck.\1.'),
    (r'^2\.cls_convs\.', 'tile_head.shared_convs.'),
    (r'^2\.mlp\.0\.', 'tile_head.projection.fc0.'),
    (r'^2\.mlp\.1\.', 'tile_head.projection.bn0.'),
    (r'^2\.mlp\.3\.', 'tile_head.projection.fc1.'),
    (r'^2\.mlp\.4\.', 'tile_head.projection.bn1.'),
)
_AUTHORS_PREDICTOR = (
    (r'^(\d+)\.mlp\.0\.', r'head.predictors.\1.fc0.'),
    (r'^(\d+)\.mlp\.1\.', r'head.predictors.\1.bn0.'),
    (r'^(\d+)\.mlp\.3\.', r'head.predictors.\1.fc1.'),
)


@register_source('mcl-authors')
def read_mcl_authors(ckpt: dict) -> Optional[Weights]:
    """The MCL authors' OpenSelfSup checkpoints (mmcv 1.x
    ``save_checkpoint``): ``encoder_q.{0,1,2}`` online, ``encoder_k`` the
    EMA target, ``head.predictor.i`` per level, ``backbone.*`` an alias of
    ``encoder_q.0``."""
    state = _state_of(ckpt)
    if not any(k.startswith('encoder_q.2.cls_convs.') for k in state):
        return None
    dropped = {
        k: 'alias of encoder_q.0 (same tensors)'
        for k in state if k.startswith('backbone.')
    }
    online = _rename(
        prefixed(state, 'encoder_q.'), _AUTHORS_ENCODER, dropped,
        'no place in mcl_mm MCL')
    online.update(
        _rename(
            prefixed(state, 'head.predictor.'), _AUTHORS_PREDICTOR, dropped,
            'no place in mcl_mm MCL'))
    target = _rename(
        prefixed(state, 'encoder_k.'), _AUTHORS_ENCODER, dropped,
        'no place in mcl_mm MCL')
    known = ('backbone.', 'encoder_q.', 'encoder_k.', 'head.predictor.')
    for k in state:
        if not k.startswith(known):
            dropped[k] = 'not part of MCL'
    return Weights('mcl-authors', online, target, dropped, _meta(ckpt))


# --- SoCo ------------------------------------------------------------------

_SOCO_HEAD = (
    (r'^conv(\d)\.', lambda m: f'tile_head.shared_convs.{int(m.group(1)) - 1}'
     '.conv.'),
    (r'^bn(\d)\.', lambda m: f'tile_head.shared_convs.{int(m.group(1)) - 1}'
     '.bn.'),
    (r'^fc1\.', 'box_fc.'),
)


@register_source('soco')
def read_soco(ckpt: dict) -> Optional[Weights]:
    """SoCo's raw checkpoints (``opt``, ``model`` with the DDP prefix
    ``module.``): ``encoder`` a torchvision-named ResNet, ``neck`` an mmcv
    FPN, ``head`` conv1-4 / bn1-4 / fc1; the ``*_k`` momentum copies, the
    projector, predictor and queue are dropped."""
    if not isinstance(ckpt.get('model'), dict):
        return None
    state = prefixed(ckpt['model'], 'module.')
    if not any(k.startswith('encoder.') for k in state) or 'opt' not in ckpt:
        return None
    online = {
        'backbone.' + k: v
        for k, v in prefixed(state, 'encoder.').items()
    }
    online.update({
        'neck.' + k: v
        for k, v in prefixed(state, 'neck.').items()
    })
    dropped: Dict[str, str] = {}
    for key, value in prefixed(state, 'head.').items():
        for pattern, repl in _SOCO_HEAD:
            if re.match(pattern, key):
                online[re.sub(pattern, repl, key)] = value
                break
        else:
            dropped['module.head.' + key] = 'no place in the box head'
    for key in state:
        part = key.split('.', 1)[0]
        if part.endswith('_k'):
            dropped['module.' + key] = 'momentum copy'
        elif part not in ('encoder', 'neck', 'head'):
            dropped['module.' + key] = f'SoCo {part} (pre-training only)'
    return Weights('soco', online, {}, dropped, _meta(ckpt))


# --- detectron2 .pkl (the MCL authors', SoCo's, ours) -----------------------

_DETECTRON2 = (
    (r'^stem\.conv1\.norm\.', 'backbone.bn1.'),
    (r'^stem\.conv1\.', 'backbone.conv1.'),
    (r'^res(\d)\.(\d+)\.shortcut\.norm\.',
     lambda m: f'backbone.layer{int(m.group(1)) - 1}.{m.group(2)}'
     '.downsample.1.'),
    (r'^res(\d)\.(\d+)\.shortcut\.',
     lambda m: f'backbone.layer{int(m.group(1)) - 1}.{m.group(2)}'
     '.downsample.0.'),
    (r'^res(\d)\.(\d+)\.conv(\d)\.norm\.',
     lambda m: f'backbone.layer{int(m.group(1)) - 1}.{m.group(2)}'
     f'.bn{m.group(3)}.'),
    (r'^res(\d)\.(\d+)\.conv(\d)\.',
     lambda m: f'backbone.layer{int(m.group(1)) - 1}.{m.group(2)}'
     f'.conv{m.group(3)}.'),
    (r'^backbone\.fpn_(lateral|output)(\d)\.norm\.',
     lambda m: f'neck.{_FPN[m.group(1)]}.{int(m.group(2)) - 2}.bn.'),
    (r'^backbone\.fpn_(lateral|output)(\d)\.',
     lambda m: f'neck.{_FPN[m.group(1)]}.{int(m.group(2)) - 2}.conv.'),
    (r'^roi_heads\.box_head\.conv(\d)\.norm\.',
     lambda m: f'tile_head.shared_convs.{int(m.group(1)) - 1}.bn.'),
    (r'^roi_heads\.box_head\.conv(\d)\.',
     lambda m: f'tile_head.shared_convs.{int(m.group(1)) - 1}.conv.'),
    (r'^roi_heads\.box_head\.fc1\.', 'box_fc.'),
)
_FPN = dict(lateral='lateral_convs', output='fpn_convs')


@register_source('detectron2')
def read_detectron2(ckpt: dict) -> Optional[Weights]:
    """detectron2 ``.pkl`` files (``{'model': numpy arrays, ...}``) as the
    MCL authors', SoCo's and ``--to detectron2`` write them: ``stem`` /
    ``res2-5``, ``backbone.fpn_lateral/output{2-5}`` (FPN from C2),
    ``roi_heads.box_head.conv{1-4}`` and ``fc1``."""
    model = ckpt.get('model')
    if not isinstance(model, dict) or 'stem.conv1.weight' not in model:
        return None
    dropped: Dict[str, str] = {}
    state = {
        k: torch.from_numpy(np.ascontiguousarray(v))
        for k, v in model.items()
    }
    online = {}
    for key, value in state.items():
        for pattern, repl in _DETECTRON2:
            if re.match(pattern, key):
                online[re.sub(pattern, repl, key, count=1)] = value
                break
        else:
            dropped[key] = 'no place in backbone, FPN or box-head convs'
    # detectron2 keeps no BN batch counters; mmengine modules have them
    for key in list(online):
        if key.endswith('.running_var'):
            online[key[:-len('running_var')] + 'num_batches_tracked'] = \
                torch.tensor(0)
    meta = {
        k: v
        for k, v in ckpt.items()
        if k != 'model' and isinstance(v, (str, bool))
    }
    return Weights('detectron2', online, {}, dropped, meta)


# --- backbone only (DenseCL, PixPro, MoCo v2, BYOL, torchvision) -----------

# where the online ResNet sits in the common layouts, first match wins; the
# momentum copies (encoder_k, target_net, momentum_encoder) are never here
BACKBONE_PREFIXES = (
    'backbone.',  # mmselfsup / mmpretrain / OpenSelfSup
    'encoder_q.0.',  # OpenSelfSup MoCo / DenseCL without the alias
    'online_net.0.',  # OpenSelfSup BYOL
    'module.encoder_q.',  # MoCo's and DenseCL's own repositories
    'module.encoder.',  # PixPro
    'encoder_q.',
    'encoder.',
    'module.',
    '',  # torchvision state dicts and extract_backbone_weights.py output
)


@register_source('backbone')
def read_backbone(ckpt: dict) -> Optional[Weights]:
    """A ResNet backbone from any of :data:`BACKBONE_PREFIXES` (plain or
    deep stem); everything else is dropped as not a backbone."""
    state = _state_of(ckpt)
    for prefix in BACKBONE_PREFIXES:
        if prefix + 'layer1.0.conv1.weight' in state and (
                prefix + 'conv1.weight' in state
                or prefix + 'stem.0.weight' in state):
            break
    else:
        return None
    online = {
        'backbone.' + k: v
        for k, v in prefixed(state, prefix).items()
        if re.match(r'^(conv1|bn1|stem|layer\d)\.', k)
    }
    kept = {prefix + k[len('backbone.'):] for k in online}
    momentum = r'^(module\.)?(encoder_k|target_net|momentum_encoder)'
    dropped = {
        k: 'momentum copy'
        if re.match(momentum, k) else 'not part of the backbone'
        for k in state if k not in kept
    }
    return Weights('backbone', online, {}, dropped, _meta(ckpt))


def read_weights(path: str, source: Optional[str] = None) -> Weights:
    """Read ``path`` as ``source``, or as the first registered format whose
    keys match.

    Raises:
        ValueError: Naming the file and the formats, if none matches.
    """
    ckpt = read_checkpoint(path)
    if not isinstance(ckpt, dict):
        raise ValueError(f'{path}: expected a checkpoint dict, got '
                         f'{type(ckpt).__name__}')
    if source is not None and source not in SOURCES:
        raise ValueError(f'--from {source}: unknown format; one of '
                         f'{sorted(SOURCES)}')
    names = [source] if source else list(SOURCES)
    for name in names:
        weights = SOURCES[name](ckpt)
        if weights is not None:
            weights.online = default_format(weights.online)
            weights.target = default_format(weights.target)
            return weights
    keys = list(_state_of(ckpt))[:5]
    raise ValueError(
        f'{path}: not a checkpoint of {" / ".join(names)} (first keys '
        f'{keys}); name the format with --from')
