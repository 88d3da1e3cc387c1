# Copyright (c) mcl_mm contributors. All rights reserved.
"""The pyramid output each montage level reads.

:func:`match_pyramid_outputs` picks the output of each level and
:func:`select_pyramid` builds the backbone and neck on just those.
"""
import copy
import warnings
from typing import List, Optional, Sequence, Tuple, Union


def match_pyramid_outputs(scales: Sequence[int],
                          resolution: int,
                          strides: Sequence[int],
                          outputs: Optional[Union[int, Sequence[int]]] = None,
                          owner: str = 'MCL') -> List[int]:
    """The pyramid output each montage level reads.

    By default level ``i`` (r_i tiles per side) reads the output of stride
    ``strides[-1] / r_i``, on which its tiles cover as many cells as a
    level-0 image covers on the coarsest output. Explicit ``outputs`` (the
    ablation knob) may read any outputs; the tiles of different levels then
    cover different numbers of cells.

    Args:
        scales (Sequence[int]): r_i of each level.
        resolution (int): Side of a montage in pixels.
        strides (Sequence[int]): Stride of each pyramid output, finest
            first.
        outputs (int | Sequence[int], optional): Explicit output per level,
            or one output for every level.
        owner (str): Name used in error messages.

    Returns:
        List[int]: The output index each level reads.
    """
    strides = list(strides)
    if isinstance(outputs, int):
        outputs = [outputs] * len(scales)
    if outputs is None:
        outputs = []
        for i, r in enumerate(scales):
            if strides[-1] / r not in strides:
                raise ValueError(
                    f'{owner}: level {i} (scale {r}) needs a pyramid output '
                    f'of stride {strides[-1]}/{r}; the pyramid has strides '
                    f'{tuple(strides)}')
            outputs.append(strides.index(strides[-1] / r))
    elif len(outputs) != len(scales):
        raise ValueError(
            f'{owner}: pyramid_outputs {tuple(outputs)} needs one output '
            f'per level: expected {len(scales)}, got {len(outputs)}')
    for i, (r, k) in enumerate(zip(scales, outputs)):
        if not 0 <= k < len(strides):
            raise ValueError(f'{owner}: pyramid_outputs[{i}]={k} is outside '
                             f'the outputs 0..{len(strides) - 1}')
        if (resolution // r) % strides[k]:
            raise ValueError(
                f'{owner}: resolution {resolution} does not fit level {i}: '
                f'its {resolution // r}-px tiles do not land on whole '
                f'{strides[k]}-px cells of pyramid output {k}; use a '
                f'resolution divisible by {strides[-1]}')
    return list(outputs)


def select_pyramid(backbone: dict,
                   neck: dict,
                   strides: Sequence[int],
                   outputs: Sequence[int],
                   explicit: bool = False,
                   owner: str = 'MCL') -> Tuple[dict, dict, List[int]]:
    """Build the pyramid on just the outputs the levels read.

    The config describes the full pyramid (one stride per output; an FPN's
    ``in_channels`` and the backbone's ``out_indices`` with one entry per
    output, or a :class:`C4Pyramid`'s ``strides``). The kept outputs run
    from the finest one a level reads up to the coarsest, because an FPN
    output depends on every coarser stage. Outputs no level reads would get
    no gradient, which DDP refuses: with the default matching they are an
    error (the scales skip an output), with explicit outputs a warning.

    Args:
        backbone (dict): Backbone config.
        neck (dict): Neck config (``mmdet.FPN`` or :class:`C4Pyramid`).
        strides (Sequence[int]): Stride of each output of the full pyramid.
        outputs (Sequence[int]): The output each level reads, indices into
            the full pyramid.
        explicit (bool): Whether ``outputs`` were set by hand (the ablation
            knob): unread outputs then only warn.
        owner (str): Name used in error messages.

    Returns:
        tuple: The backbone and neck configs (copies) and the output each
        level reads in the kept pyramid.
    """
    backbone, neck = copy.deepcopy(backbone), copy.deepcopy(neck)
    num = len(strides)
    first = min(outputs)
    kept = list(range(first, num))
    for key in ('in_channels', 'strides'):
        if key in neck:
            if len(neck[key]) != num:
                raise ValueError(
                    f'{owner}: neck.{key} {tuple(neck[key])} needs one entry '
                    f'per pyramid output: pyramid_strides {tuple(strides)}')
            neck[key] = [neck[key][k] for k in kept]
    if 'num_outs' in neck:
        neck['num_outs'] = len(kept)
    indices = backbone.get('out_indices')
    if indices is not None and len(indices) == num and 'in_channels' in neck:
        backbone['out_indices'] = tuple(indices[k] for k in kept)
    unused = sorted(set(kept) - set(outputs))
    if unused:
        message = (
            f'{owner}: pyramid outputs {unused} (strides '
            f'{[strides[k] for k in unused]}) are read by no level; their '
            'weights would get no gradient, which DDP refuses')
        if not explicit:
            raise ValueError(
                message + ': the montage scales skip a pyramid output; use '
                'scales whose outputs are contiguous, e.g. (1, 2, 4)')
        warnings.warn(message + ': train with model_wrapper_cfg=dict('
                      'type="MMDistributedDataParallel", '
                      'find_unused_parameters=True)')
    return backbone, neck, [k - first for k in outputs]
