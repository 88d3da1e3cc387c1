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
