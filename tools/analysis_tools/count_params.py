# Copyright (c) mcl_mm contributors. All rights reserved.
"""Count the parameters of configs' models, as the runner builds them.

Each config passes the runner's config functions (``MontageRunner.
prepare_config`` for montage configs), its model is built in the config's
default scope without loading weights, and the counts (millions) of the
whole model (online network, EMA target, predictors) and of its backbone
are printed and, with ``--json``, written.

Example::

    python tools/analysis_tools/count_params.py configs/mcl/*.py \\
        configs/mcl/*/*.py configs/ssprl/*.py configs/maskco/*.py \\
        --json docs/benchmarks/cpu-2026-12-05/params.json
"""
import argparse
import copy
import json
import os.path as osp

from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope
from torch import nn

from mcl_mm.engine import MontageRunner


def build_model(path: str) -> nn.Module:
    """``path``'s model as the runner builds it: its config functions
    (``MontageRunner.prepare_config`` for montage configs), the top-level
    data preprocessor, the config's default scope; no weights loaded.

    Args:
        path (str): A config file.

    Returns:
        nn.Module: The model.
    """
    cfg = Config.fromfile(path)
    if cfg.get('runner_type') == 'MontageRunner':
        cfg = MontageRunner.prepare_config(cfg)
    model_cfg = copy.deepcopy(cfg.model)
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    with DefaultScope.overwrite_default_scope(
            cfg.get('default_scope', 'mmengine')):
        return MODELS.build(model_cfg)


def count_params(path: str) -> dict:
    """Parameters of ``path``'s model and of its backbone.

    Args:
        path (str): A config file.

    Returns:
        dict: ``params`` and ``backbone_params`` (counts), and the same in
        millions rounded to 2 places (``params_m``, ``backbone_params_m``).
    """
    model = build_model(path)
    total = sum(p.numel() for p in model.parameters())
    backbone = sum(p.numel() for p in model.backbone.parameters())
    return dict(
        params=total,
        backbone_params=backbone,
        params_m=round(total / 1e6, 2),
        backbone_params_m=round(backbone / 1e6, 2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('configs', nargs='+', help='config files')
    parser.add_argument('--json', help='write the counts to this file')
    args = parser.parse_args()
    counts = {}
    for path in args.configs:
        counts[osp.relpath(path)] = count_params(path)
        c = counts[osp.relpath(path)]
        print(f"{osp.relpath(path)}: {c['params_m']:.2f} M "
              f"(backbone {c['backbone_params_m']:.2f} M)")
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(counts, f, indent=2)
        print(f'counts written to {args.json}')


if __name__ == '__main__':
    main()
