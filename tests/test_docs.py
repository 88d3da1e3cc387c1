"""The pages point at files that exist.

For README.md, CONTRIBUTING.md, CHANGELOG.md, the pages under docs/en and
the config READMEs: every relative markdown link (and image) names an
existing file, and an anchor on a link to a markdown page (or on the page
itself) names one of its headings (slugged as myst-parser and GitHub slug
them); every config path (``configs/...py``) that a command shows, in a
fenced code block or an inline command, exists. Fast: no Sphinx, no model.
"""
import glob
import itertools
import json
import os.path as osp
import re
import runpy

import pytest

from conftest import ROOT

LINK = re.compile(r'!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(([^)\s]+)(?:\s+"[^"]*")?\)')
FENCE = re.compile(r'^(```|~~~)[^\n]*\n(.*?)^\1', re.M | re.S)
INLINE = re.compile(r'`([^`\n]+)`')
COMMAND = re.compile(r'^(python|bash|tools/|mim |make |torchrun|PYTHON=|'
                     r'GPUS=|NNODES=)')
CONFIG = re.compile(r'configs/[\w./{},-]+?\.py\b')
HEADING = re.compile(r'^#{1,6}\s+(.*?)\s*#*\s*$', re.M)


def pages():
    names = ['README.md', 'CONTRIBUTING.md', 'CHANGELOG.md']
    names += glob.glob('docs/en/**/*.md', root_dir=ROOT, recursive=True)
    names += glob.glob('configs/*/README.md', root_dir=ROOT)
    # docs/en/_build and the generated model zoo are build outputs
    return sorted(
        n for n in names
        if not n.startswith(('docs/en/_build', 'docs/en/model_zoo')))


@pytest.fixture(scope='module', autouse=True)
def model_zoo_pages():
    """The model-zoo pages every docs build generates (docs/en/stat.py,
    git-ignored): pages link to them, and a clean clone has none yet."""
    runpy.run_path(
        osp.join(ROOT, 'docs', 'en', 'stat.py'), run_name='__main__')


def strip_code(text):
    """The text without fenced code blocks (links there are not links)."""
    return FENCE.sub('', text)


def slug(heading):
    """A heading's anchor, as myst-parser's and GitHub's slugger make it."""
    heading = re.sub(r'\[([^\]]*)\]\([^)]*\)', r'\1', heading)  # link text
    heading = heading.strip().lower().replace(' ', '-')
    return re.sub(r'[^\w\- ]', '', heading)


def anchors(path):
    with open(path, encoding='utf-8') as f:
        text = strip_code(f.read())
    return {slug(h) for h in HEADING.findall(text)}


def expand_braces(path):
    """``a-{1,10}pct.py`` -> ``a-1pct.py``, ``a-10pct.py``."""
    parts = re.split(r'\{([^{}]*)\}', path)
    choices = [[p] if i % 2 == 0 else p.split(',')
               for i, p in enumerate(parts)]
    return [''.join(c) for c in itertools.product(*choices)]


def broken_links(page):
    path = osp.join(ROOT, page)
    with open(path, encoding='utf-8') as f:
        text = strip_code(f.read())
    broken = []
    for target in LINK.findall(text):
        if re.match(r'[a-zA-Z][a-zA-Z+.-]*:', target):  # http:, mailto:
            continue
        file_part, _, anchor = target.partition('#')
        dest = osp.normpath(osp.join(osp.dirname(path), file_part)) \
            if file_part else path
        if not osp.exists(dest):
            broken.append(f'{target}: no such file')
        elif anchor and dest.endswith('.md') and anchor not in anchors(dest):
            broken.append(f'{target}: no heading with anchor #{anchor}')
    return broken


def commands(page):
    with open(osp.join(ROOT, page), encoding='utf-8') as f:
        text = f.read()
    for _, block in FENCE.findall(text):
        yield block
    for span in INLINE.findall(strip_code(text)):
        if COMMAND.match(span):
            yield span


def missing_configs(page):
    missing = []
    for command in commands(page):
        for config in CONFIG.findall(command):
            for name in expand_braces(config):
                if not osp.isfile(osp.join(ROOT, name)):
                    missing.append(name)
    return missing


def test_the_pages_are_found():
    found = pages()
    for page in ('README.md', 'docs/en/index.md', 'docs/en/fidelity.md',
                 'configs/mcl/README.md'):
        assert page in found


@pytest.mark.parametrize('page', pages())
def test_local_links_resolve(page):
    assert broken_links(page) == []


@pytest.mark.parametrize('page', pages())
def test_commands_name_configs_that_exist(page):
    assert missing_configs(page) == []


def test_the_checks_catch_a_broken_link_and_a_missing_config(tmp_path):
    page = tmp_path / 'page.md'
    (tmp_path / 'there.md').write_text('# Title\n\n## A section\n')
    page.write_text(
        '# Page\n\n[ok](there.md#a-section) [bad](missing.md) '
        '[no anchor](there.md#nowhere) [self](#page)\n\n'
        '```bash\npython tools/train.py configs/mcl/no_such_config.py\n'
        '[not a link](inside-a-code-block.md)\n```\n')
    assert broken_links(str(page)) == [
        'missing.md: no such file',
        'there.md#nowhere: no heading with anchor #nowhere'
    ]
    assert missing_configs(str(page)) == ['configs/mcl/no_such_config.py']
    assert slug("What needs mmcv's compiled ops") == \
        'what-needs-mmcvs-compiled-ops'
    assert expand_braces('a-{1,10}pct.py') == ['a-1pct.py', 'a-10pct.py']


JSON_LINK = re.compile(r'\]\(([^)#\s]+\.json)\)')
# a figure: a decimal, or a whole number with its unit (x, img/s, ms,
# GFLOP); dates, versions and counts in words are not
FIGURE = re.compile(r'(?<![\w.\-/])(\d+\.\d+|\d+(?=\s*(?:x\b|img/s|ms\b|'
                    r'GFLOP)))(?!\.\d)(?!\s*\(paper)')


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
    if isinstance(node, list):
        return [x for value in node for x in _numbers(value)]
    if isinstance(node, (int, float)) and not isinstance(node, bool):
        return [float(node)]
    return []


def uncited_figures(page):
    """Figures of the blocks that link a JSON file which the file does not
    hold (rounded as written, or as a percentage), and files that do not
    exist."""
    path = osp.join(ROOT, page)
    with open(path, encoding='utf-8') as f:
        text = f.read()
    found = []
    for block in cited_blocks(text):
        values = []
        for link in JSON_LINK.findall(block):
            cited = osp.normpath(osp.join(osp.dirname(path), link))
            if not osp.isfile(cited):
                found.append(f'{link}: no such file')
                continue
            with open(cited) as f:
                values += _numbers(json.load(f))
        if not values:
            continue
        for figure in FIGURE.findall(block):
            places = len(figure.partition('.')[2])
            if not any(
                    round(v, places) == float(figure)
                    or round(100 * v, places) == float(figure)
                    for v in values):
                found.append(f'{figure} ({block[:60]}...)')
    return found


@pytest.mark.parametrize('page', pages())
def test_figures_next_to_a_file_are_in_it(page):
    assert uncited_figures(page) == []


def test_the_figure_check_catches_a_wrong_figure_and_a_missing_file(tmp_path):
    (tmp_path / 'run.json').write_text('{"a": {"img_s": 537.31, '
                                       '"ratio": 1.4869, "share": 0.0631}}')
    page = tmp_path / 'page.md'
    page.write_text(
        '# Page\n\nMCL at 537 img/s, 1.49x BYOL, waiting 6.3 %, 42.5 (paper),'
        ' on 2026-12-04 ([run.json](run.json)).\n\n'
        'The run ([run.json](run.json)):\n\n| a | b |\n| --- | --- |\n'
        '| 1.49 | 537 img/s |\n\n'
        '- MCL at 538 img/s ([run.json](run.json))\n'
        '- 1.5x ([gone.json](gone.json))\n\nNo file: 7.5 ms.\n')
    assert uncited_figures(str(page)) == [
        '538 (- MCL at 538 img/s ([run.json](run.json))...)',
        'gone.json: no such file'
    ]


def test_the_figure_check_catches_a_doctored_copy_of_a_page(tmp_path):
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
    assert uncited_figures(str(copy)) == []
    copy.write_text(text.replace('64.76', '64.86'), encoding='utf-8')
    wrong = uncited_figures(str(copy))
    assert wrong and all(w.startswith('64.86 ') for w in wrong)
