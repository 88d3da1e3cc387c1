"""Every figure in the pages has a file behind it.

A figure is a decimal (``1.49x``, ``0.43``), or a whole number with a
unit (``537 img/s``, ``13 min``, ``15 %``); versions, dates, arXiv ids,
plain counts and whole numbers with x (sizes and schedules: ``500x375``,
``R50-FPN 1x``, ``32xb128``) are not. Each
figure of README.md, CONTRIBUTING.md, CHANGELOG.md, the pages under docs/en
and the config READMEs stands in a block (a paragraph, a list item, or a
table with the paragraph before it, its caption) that cites a file: a
markdown link to a ``.json`` or ``.py`` file, or a repository path to one
in a code span. The file must exist and hold the figure, rounded as
written: a JSON file's numbers, a Python file's numeric literals, and a
config's values after its ``_base_`` files are merged. A figure the paper
reports says so, ``42.5 (paper)`` or ``42.5 / 38.3 (paper)``, and cites the
paper instead.
"""
import ast
import functools
import glob
import json
import os.path as osp
import re

import pytest
from mmengine.config import Config
from test_docs import pages, strip_code

from conftest import ROOT

UNIT = (r'(img/s|ms\b|s\b|min\b|h\b|minutes?\b|seconds?\b|hours?\b|%|'
        r'GFLOP|GiB|GB|MiB|MB|M\b)')
FIGURE = re.compile(r'(?<![\w.\-/:])(\d+\.\d+(?!\d|\.\d)|\d+(?=\s*' + UNIT +
                    r'))'
                    r'(?:\s*(x\b|' + UNIT[1:] + r')?'
                    r'(?!(?:\s*/\s*\d+(?:\.\d+)?)*\s*\(paper)')
# a version is not a figure: ``Python 3.11``, ``torch < 2.6``, ``>=4.28``
VERSION = re.compile(
    r'(?:Python|torch|torchvision|numpy|transformers|mmcv|mmengine|mmdet|'
    r'mmseg|mmpretrain|CUDA|Pillow|kornia|License|version|capability|'
    r'[<>=~]=?)'
    r'\s*\d+(?:\.\d+)+', re.I)
# ``19m35s`` is read as ``1175 s``
MIN_SEC = re.compile(r'\b(\d+)m(\d+(?:\.\d+)?)s\b')
LINKED_FILE = re.compile(r'\]\(([^)#\s]+\.(?:json|py))\)')
SPAN_FILE = re.compile(r'`([\w./-]+\.(?:json|py))`')
# the ways a unit rescales a file's value: seconds as minutes or hours,
# seconds as milliseconds, counts as millions, fractions as percentages
SCALES = {
    '': (1, 100),
    'x': (1, ),
    '%': (1, 100),
    'min': (1, 1 / 60),
    'h': (1, 1 / 3600),
    'ms': (1, 1000),
    's': (1, ),
    'M': (1, 1e-6),
    'GFLOP': (1, 1e-9),
    'GiB': (1, 2**-30),
    'GB': (1, 1e-9),
    'MiB': (1, 2**-20),
    'MB': (1, 1e-6),
    'img/s': (1, ),
}
SCALES.update(
    minute=SCALES['min'],
    minutes=SCALES['min'],
    second=(1, ),
    seconds=(1, ),
    hour=SCALES['h'],
    hours=SCALES['h'])


def cited_blocks(text):
    """The blocks of a page that can cite a file: a paragraph, a list item,
    or a table together with the paragraph just before it (its caption)."""
    blocks, lines, table, caption = [], [], [], ''
    for line in strip_code(text).split('\n') + ['']:
        if line.startswith('|'):
            if lines:
                caption = ' '.join(lines)
                blocks.append(caption)
                lines = []
            table.append(line)
            continue
        if table:
            blocks.append(' '.join([caption] + table))
            table, caption = [], ''
        if line.startswith(('- ', '#')) or not line.strip():
            if lines:
                caption = ' '.join(lines)
                blocks.append(caption)
            lines = []
            if line.startswith('#'):
                caption = ''
            if not line.startswith('- '):
                continue
        lines.append(line)
    return blocks


def _numbers(node):
    if isinstance(node, dict):
        node = list(node.values())
    if isinstance(node, (list, tuple)):
        return [x for value in node for x in _numbers(value)]
    if isinstance(node, (int, float)) and not isinstance(node, bool):
        return [float(node)]
    return []


@functools.lru_cache(maxsize=None)
def file_numbers(path):
    """The numbers a cited file holds."""
    with open(path, encoding='utf-8') as f:
        text = f.read()
    if path.endswith('.json'):
        return tuple(_numbers(json.loads(text)))
    numbers = [
        float(node.value) for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.Constant) and isinstance(
            node.value, (int, float)) and not isinstance(node.value, bool)
    ]
    if osp.relpath(path, ROOT).startswith('configs' + osp.sep):
        numbers += _numbers(Config.fromfile(path).to_dict())
    return tuple(numbers)


def _span_file(span, page_path):
    """The file a code span names: a path from the repository root, from
    configs/ or from the page, or a file name found once under configs/."""
    for base in (ROOT, osp.join(ROOT, 'configs'), osp.dirname(page_path)):
        if osp.isfile(osp.join(base, span)):
            return osp.normpath(osp.join(base, span))
    if '/' not in span:
        found = glob.glob(
            osp.join(ROOT, 'configs', '**', span), recursive=True)
        if len(found) == 1:
            return found[0]
    return None


def cited_files(block, page_path):
    """The files a block cites: links (relative to the page) and paths or
    config names in code spans."""
    linked = [
        osp.normpath(osp.join(osp.dirname(page_path), link))
        for link in LINKED_FILE.findall(block)
    ]
    spans = [_span_file(span, page_path) for span in SPAN_FILE.findall(block)]
    return linked + [path for path in spans if path]


def holds(values, figure, unit):
    places = len(figure.partition('.')[2])
    return any(
        round(v * scale, places) == float(figure) for v in values
        for scale in SCALES[unit])


def figure_problems(page_path):
    """Figures that stand in a block citing no file, or that the block's
    files do not hold, and cited files that do not exist."""
    with open(page_path, encoding='utf-8') as f:
        text = f.read()
    found = []
    for block in cited_blocks(text):
        plain = MIN_SEC.sub(lambda m: f'{60 * int(m[1]) + float(m[2]):g} s',
                            VERSION.sub('', block))
        figures = FIGURE.findall(plain)
        files = cited_files(block, page_path)
        values = []
        for path in files:
            if osp.isfile(path):
                values += file_numbers(path)
            else:
                found.append(f'{osp.relpath(path, osp.dirname(page_path))}: '
                             'no such file')
        for figure, unit_before, unit_after in figures:
            unit = unit_before or unit_after
            if not files:
                found.append(f'{figure}{unit}: no file ({block[:70]}...)')
            elif not holds(values, figure, unit):
                found.append(f'{figure}{unit}: not in the file '
                             f'({block[:70]}...)')
    return found


@pytest.mark.parametrize('page', pages())
def test_every_figure_is_in_a_cited_file(page):
    assert figure_problems(osp.join(ROOT, page)) == []


def test_the_check_finds_wrong_uncited_and_missing(tmp_path):
    (tmp_path / 'run.json').write_text(
        '{"a": {"img_s": 537.31, "ratio": 1.4869, "share": 0.0631, '
        '"seconds": 781.0}}')
    (tmp_path / 'cfg.py').write_text('lr = 0.3\nbatch = dict(size=16)\n')
    page = tmp_path / 'page.md'
    page.write_text(
        '# Page\n\nMCL at 537 img/s in 13m1s or 13 minutes, 1.49x BYOL, '
        'waiting 6.3 %, 42.5 / 38.3 (paper), 13 min, torch 2.14.1, Python '
        '3.11, torch < 2.6, on 2026-12-04 ([run.json](run.json)).\n\n'
        'The run ([run.json](run.json)):\n\n| a | b |\n| --- | --- |\n'
        '| 1.49 | 537 img/s |\n\n'
        '- MCL at 538 img/s ([run.json](run.json))\n'
        '- lr 0.3 ([cfg](cfg.py)), lr 0.4 ([cfg](cfg.py))\n'
        '- 1.5x ([gone.json](gone.json))\n\nNo file: 7.5 ms.\n')
    assert figure_problems(str(page)) == [
        '538img/s: not in the file (- MCL at 538 img/s ([run.json]'
        '(run.json))...)',
        '0.4: not in the file (- lr 0.3 ([cfg](cfg.py)), lr 0.4 ([cfg]'
        '(cfg.py))...)',
        'gone.json: no such file',
        '1.5x: not in the file (- 1.5x ([gone.json](gone.json))...)',
        '7.5ms: no file (No file: 7.5 ms....)',
    ]


def test_a_config_cites_its_bases_values():
    """A shipped config cited in a code span holds the values its _base_
    files set: the R50-FPN S=4 recipe's LARS learning rate."""
    config = 'configs/mcl/mcl_r50-fpn_32xb128-amp-coslr-200e_in1k.py'
    cfg = Config.fromfile(osp.join(ROOT, config))
    lr = cfg.optim_wrapper.optimizer.lr
    block = f'The recipe (`{config}`) trains at lr {lr}.'
    assert holds(
        file_numbers(cited_files(block, osp.join(ROOT, 'README.md'))[0]),
        str(lr), '')


def test_the_check_catches_a_doctored_copy_of_a_page(tmp_path):
    """configs/mcl/README.md passes; a copy beside the same files with one
    parameter count changed does not."""
    page = 'configs/mcl/README.md'
    with open(osp.join(ROOT, page), encoding='utf-8') as f:
        text = f.read()
    assert '64.76' in text
    (tmp_path / 'configs' / 'mcl').mkdir(parents=True)
    (tmp_path / 'docs').symlink_to(osp.join(ROOT, 'docs'))
    copy = tmp_path / page
    copy.write_text(text, encoding='utf-8')
    assert figure_problems(str(copy)) == []
    copy.write_text(text.replace('64.76', '64.86'), encoding='utf-8')
    wrong = figure_problems(str(copy))
    assert wrong and all(w.startswith('64.86') for w in wrong)


if __name__ == '__main__':
    # python tests/test_docs_figures.py [PAGE ...]: the problems to fix
    import sys
    for name in sys.argv[1:] or pages():
        for problem in figure_problems(osp.join(ROOT, name)):
            print(f'{name}: {problem}')
