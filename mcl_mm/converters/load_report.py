# Copyright (c) mcl_mm contributors. All rights reserved.
"""What a converted checkpoint fills in the architecture that will load it.

:func:`architecture` builds a config's model (mmdet, mmseg or mmpretrain,
by the config's ``default_scope``) and lists its tensors;
:func:`compare` counts, per destination group (``backbone``, ``neck``,
``roi_head.bbox_head``, ...), how many of them the checkpoint fills, which
shapes differ and what has no destination; :func:`problems` says what must
stop a conversion (a backbone not fully covered, a shape mismatch, a stem
of the other kind).
"""
import copy
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Tuple

import torch
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import DefaultScope

from .state_dict import prefixed

Shapes = Dict[str, Tuple[int, ...]]


def architecture(config: str) -> Shapes:
    """Every tensor (parameters and buffers) of a config's model, built on
    the CPU without loading any weights."""
    from mmengine.registry import MODELS
    cfg = Config.fromfile(config)
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.pop('pretrained', None)
    for part in ('backbone', 'neck'):
        if isinstance(model_cfg.get(part), dict):
            model_cfg[part].pop('init_cfg', None)
    scope = cfg.get('default_scope', 'mmpretrain')
    with DefaultScope.overwrite_default_scope(scope):
        model = revert_sync_batchnorm(MODELS.build(model_cfg))
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def group_of(key: str) -> str:
    """The destination group of a key: its first name, or the first two
    under a detector's ``roi_head`` / an EMA ``target_net``."""
    parts = key.split('.')
    depth = 2 if parts[0] in ('roi_head', 'roi_heads', 'target_net') else 1
    return '.'.join(parts[:depth])


@dataclass
class LoadReport:
    """Coverage of an architecture by a checkpoint.

    Args:
        groups (Dict[str, Tuple[int, int]]): Per destination group, the
            tensors filled and the tensors the architecture has.
        mismatched (List[Tuple[str, tuple, tuple]]): Key, checkpoint shape,
            architecture shape.
        unexpected (List[str]): Checkpoint keys the architecture lacks.
        dropped (Dict[str, str]): Source keys the conversion left out, and
            why.
        notes (List[str]): Findings that explain a gap (e.g. the stem).
    """
    groups: Dict[str, Tuple[int, int]]
    mismatched: List[Tuple[str, tuple, tuple]] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    dropped: Dict[str, str] = field(default_factory=dict)
    notes: List[str] = field(default_factory=list)

    def format(self, most: int = 8) -> str:
        """The report as text, ``most`` examples per list."""
        lines = ['load report (tensors filled / tensors of the target):']
        for group, (filled, total) in sorted(self.groups.items()):
            tail = '' if filled == total else (
                '  (starts anew)' if filled == 0 else '  (partial)')
            lines.append(f'  {group:<34}{filled:>6} / {total:<6}{tail}')
        for key, got, want in self.mismatched[:most]:
            lines.append(f'  shape mismatch {key}: checkpoint {got}, '
                         f'target {want}')
        if self.unexpected:
            lines.append(f'  {len(self.unexpected)} converted tensors have '
                         f'no place in the target, e.g. '
                         f'{self.unexpected[:3]}')
        reasons: Dict[str, List[str]] = {}
        for key, why in self.dropped.items():
            reasons.setdefault(why, []).append(key)
        for why, keys in sorted(reasons.items()):
            lines.append(f'  dropped {len(keys)} source tensors ({why}), '
                         f'e.g. {keys[:2]}')
        lines += [f'  note: {n}' for n in self.notes]
        return '\n'.join(lines)


def stem_note(state: Mapping[str, object],
              expected: Mapping[str, object]) -> Optional[str]:
    """A message when one side has a deep stem (ResNetV1c / V1d:
    ``backbone.stem.*``) and the other a plain 7x7 ``conv1``."""
    ckpt_deep = any(k.startswith('backbone.stem.') for k in state)
    ckpt_plain = 'backbone.conv1.weight' in state
    want_deep = any(k.startswith('backbone.stem.') for k in expected)
    want_plain = 'backbone.conv1.weight' in expected
    if ckpt_plain and want_deep:
        return ('the target is a deep-stem ResNetV1c/V1d (backbone.stem.*) '
                'but the checkpoint holds a plain ResNet stem '
                '(backbone.conv1): use type=ResNet in the config')
    if ckpt_deep and want_plain:
        return ('the checkpoint holds a deep-stem ResNetV1c/V1d '
                '(backbone.stem.*) but the target is a plain ResNet: use '
                'type=ResNetV1c in the config')
    return None


def compare(state: Mapping[str, torch.Tensor],
            expected: Shapes,
            dropped: Optional[Dict[str, str]] = None) -> LoadReport:
    """Count what ``state`` fills of ``expected``.

    Args:
        state (Mapping[str, torch.Tensor]): The converted weights, in the
            target's names.
        expected (Shapes): The target architecture (:func:`architecture`).
        dropped (Dict[str, str], optional): Source keys the conversion
            left out and why.

    Returns:
        LoadReport: The coverage.
    """
    groups: Dict[str, List[int]] = {}
    mismatched = []
    for key, shape in expected.items():
        counts = groups.setdefault(group_of(key), [0, 0])
        counts[1] += 1
        if key not in state:
            continue
        got = tuple(torch.as_tensor(state[key]).shape)
        if got == shape:
            counts[0] += 1
        else:
            mismatched.append((key, got, shape))
    unexpected = sorted(k for k in state if k not in expected)
    note = stem_note(state, expected)
    return LoadReport({
        k: tuple(v)
        for k, v in groups.items()
    }, mismatched, unexpected, dict(dropped or {}), [note] if note else [])


def problems(report: LoadReport,
             required: Tuple[str, ...] = ('backbone', ),
             strict: bool = False) -> List[str]:
    """What makes the conversion unusable: a required group not fully
    covered, a shape mismatch; with ``strict`` also any uncovered group or
    a converted tensor without destination."""
    found = []
    for group, (filled, total) in report.groups.items():
        if (strict or group in required) and filled < total:
            found.append(f'{group}: only {filled} of {total} tensors '
                         'receive weights')
    for group in required:
        if group not in report.groups:
            found.append(f'the target has no {group}')
    if report.mismatched:
        key, got, want = report.mismatched[0]
        found.append(f'{len(report.mismatched)} shape mismatches, e.g. '
                     f'{key}: checkpoint {got}, target {want}')
    if strict and report.unexpected:
        found.append(f'{len(report.unexpected)} tensors have no place in '
                     f'the target, e.g. {report.unexpected[:3]}')
    return found + report.notes


def planned_load(
        cfg: Config,
        state: Mapping[str,
                       torch.Tensor]) -> Tuple[Dict[str, torch.Tensor], str]:
    """The keys ``state`` lands on when ``cfg`` loads it: the whole model
    for ``load_from``, else the backbone's ``init_cfg`` (``Pretrained``,
    its ``prefix`` stripped, put under ``backbone.``).

    Returns:
        tuple: The weights in the model's names and how they load.
    """
    init_cfg = (cfg.model.get('backbone') or {}).get('init_cfg') or {}
    if cfg.get('load_from') or init_cfg.get('type') != 'Pretrained':
        revised = {
            k: v
            for k, v in state.items() if not k.startswith('module.')
        }
        revised.update(prefixed(state, 'module.'))
        return revised, 'load_from (whole model)'
    prefix = init_cfg.get('prefix')
    if prefix:
        prefix = prefix if prefix.endswith('.') else prefix + '.'
        state = prefixed(state, prefix)
    return {
        'backbone.' + k: v
        for k, v in state.items()
    }, (f'backbone init_cfg Pretrained (prefix {prefix!r})')


def check_load(config: str, checkpoint: str) -> Tuple[LoadReport, str]:
    """Load ``checkpoint`` as ``config`` would and report the coverage.

    Args:
        config (str): A downstream mmdet / mmseg / mmpretrain config.
        checkpoint (str): The file it would load.

    Returns:
        tuple: The report and how the config loads weights.
    """
    from .checkpoint_file import read_checkpoint
    ckpt = read_checkpoint(checkpoint)
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else {}
    cfg = Config.fromfile(config)
    planned, how = planned_load(cfg, state)
    return compare(planned, architecture(config)), how
