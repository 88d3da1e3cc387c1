# Copyright (c) mcl_mm contributors. All rights reserved.
"""Plot a run's loss, per-level collapse metrics and dense-probe curves.

Reads the newest ``vis_data/scalars.json`` under WORK_DIR and draws one
panel each for the losses, ``std_*``, ``erank_*`` and ``dense_probe/*``.

Example::

    python tools/analysis_tools/plot_curves.py work_dirs/demo
"""
import argparse
import glob
import json
import os.path as osp
from typing import Dict, List, Tuple

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

PANELS = (('loss', 'loss'), ('std', 'std_'), ('effective rank', 'erank_'),
          ('dense probe', 'dense_probe/'))


def read_scalars(work_dir: str) -> Dict[str, List[Tuple[int, float]]]:
    """Every scalar of the newest run under ``work_dir``: name -> points."""
    files = sorted(
        glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not files:
        raise FileNotFoundError(f'no scalars.json under {work_dir}')
    series: Dict[str, List[Tuple[int, float]]] = {}
    with open(files[-1]) as f:
        for line in f:
            row = json.loads(line)
            for key, value in row.items():
                if key != 'step' and isinstance(value, (int, float)):
                    series.setdefault(key, []).append((row['step'], value))
    return series


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('work_dir')
    parser.add_argument('--out', help='PNG (default: WORK_DIR/curves.png)')
    args = parser.parse_args()
    series = read_scalars(args.work_dir)
    fig, axes = plt.subplots(1, len(PANELS), figsize=(5 * len(PANELS), 4))
    for ax, (title, prefix) in zip(axes, PANELS):
        for key in sorted(series):
            if key.startswith(prefix) or (prefix == 'loss'
                                          and key.startswith('loss')):
                steps, values = zip(*series[key])
                ax.plot(steps, values, marker='.', label=key)
        ax.set_title(title)
        ax.set_xlabel('iteration')
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=7)
    fig.tight_layout()
    out = args.out or osp.join(args.work_dir, 'curves.png')
    fig.savefig(out, dpi=90)
    print(f'curves: {out}')


if __name__ == '__main__':
    main()
