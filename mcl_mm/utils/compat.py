# Copyright (c) mcl_mm contributors. All rights reserved.
"""Keep an incompatible transformers from breaking mmpretrain's import.

mmpretrain 1.2.0 imports its optional multimodal models (BLIP, BLIP-2,
Flamingo, ...) whenever pycocotools and ``transformers>=4.28.0`` are
installed (``mmpretrain.utils.dependency.WITH_MULTIMODAL``). BLIP's language
model imports helpers from ``transformers.modeling_utils`` that transformers
5 no longer has; it then defines ``class BertPreTrainedModel(None)`` and
``import mmpretrain.models`` fails with ``TypeError: NoneType takes no
arguments``. mcl_mm uses none of those models: with such a transformers,
:func:`disable_incompatible_multimodal` turns the switch off before
``mmpretrain.models`` is imported, and mmpretrain registers its placeholders
instead (building one asks for the multimodal dependencies).
"""
import importlib
import logging
import sys
from importlib.metadata import PackageNotFoundError, distribution
from typing import Dict, Optional, Tuple

from mmengine.logging import print_log
from mmengine.utils import digit_version

#: What mmpretrain 1.2.0's BLIP language model
#: (``mmpretrain/models/multimodal/blip/language_model.py``) imports from
#: transformers, by module.
BLIP_IMPORTS: Dict[str, Tuple[str, ...]] = {
    'transformers.activations': ('ACT2FN', ),
    'transformers.modeling_outputs':
    ('BaseModelOutputWithPastAndCrossAttentions',
     'BaseModelOutputWithPoolingAndCrossAttentions',
     'CausalLMOutputWithCrossAttentions'),
    'transformers.modeling_utils':
    ('PreTrainedModel', 'apply_chunking_to_forward',
     'find_pruneable_heads_and_indices', 'prune_linear_layer'),
    'transformers.models.bert.configuration_bert': ('BertConfig', ),
}

#: The first transformers release without BLIP's helpers.
FIRST_INCOMPATIBLE = '5.0.0'


def missing_blip_imports() -> Tuple[str, ...]:
    """The names of :data:`BLIP_IMPORTS` the installed transformers does
    not provide (a module that fails to import lacks all its names).

    Returns:
        Tuple[str, ...]: Dotted names, e.g.
        ``'transformers.modeling_utils.prune_linear_layer'``.
    """
    missing = []
    for module_name, names in BLIP_IMPORTS.items():
        try:
            module = importlib.import_module(module_name)
        except Exception:  # noqa: B902 (any failure of transformers)
            module = None
        missing += [
            f'{module_name}.{name}' for name in names
            if not hasattr(module, name)
        ]
    return tuple(missing)


def transformers_incompatibility() -> Optional[str]:
    """Why mmpretrain's multimodal models cannot import with the installed
    transformers: a release from :data:`FIRST_INCOMPATIBLE` on (decided by
    its version, without importing it), or one that lacks a name of
    :data:`BLIP_IMPORTS`.

    Returns:
        str | None: The reason, or None when transformers is absent, older
        than mmpretrain's multimodal models need (mmpretrain leaves them
        out itself) or provides what BLIP imports.
    """
    try:
        version = distribution('transformers').version
    except PackageNotFoundError:
        return None
    if digit_version(version) < digit_version('4.28.0'):
        return None
    if digit_version(version) >= digit_version(FIRST_INCOMPATIBLE):
        return f'transformers {version} (>= {FIRST_INCOMPATIBLE})'
    missing = missing_blip_imports()
    if missing:
        return f'transformers {version} (it lacks {", ".join(missing)})'
    return None


def disable_incompatible_multimodal() -> bool:
    """Turn off mmpretrain's multimodal models when the installed
    transformers cannot import them (:func:`transformers_incompatibility`),
    with one warning line. Call it before anything imports
    ``mmpretrain.models`` (``import mcl_mm`` does, first).

    Returns:
        bool: Whether they were turned off here.
    """
    from mmpretrain.utils import dependency
    if not dependency.WITH_MULTIMODAL or 'mmpretrain.models' in sys.modules:
        return False
    reason = transformers_incompatibility()
    if reason is None:
        return False
    dependency.WITH_MULTIMODAL = False
    print_log(
        f"mcl_mm: mmpretrain's multimodal models (BLIP, BLIP-2, ...) are "
        f'turned off, they do not import with {reason}; mcl_mm does not '
        'use them (pip install "transformers<5" to have them)',
        logger='current',
        level=logging.WARNING)
    return True
