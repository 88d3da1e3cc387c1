#!/usr/bin/env python
"""Model zoo pages from the metafiles, in the spirit of mmpretrain's stat.py.

Reads ``model-index.yml`` and the metafiles it imports and writes
``model_zoo/statistics.md`` (counts and one table of every config) and
``model_zoo/papers/<method>.md`` (the method's config README followed by
its models table) under ``docs/en``. Run by ``conf.py`` at every build; the
output is not committed.
"""
import os
import os.path as osp
import re

import yaml

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(osp.dirname(HERE))
OUT = osp.join(HERE, 'model_zoo')


def load_metafiles():
    with open(osp.join(ROOT, 'model-index.yml')) as f:
        index = yaml.safe_load(f)
    metas = []
    for path in index['Import']:
        with open(osp.join(ROOT, path)) as f:
            meta = yaml.safe_load(f)
        meta['path'] = path
        metas.append(meta)
    return metas


def metric_text(model):
    items = []
    for result in model.get('Results') or []:
        for name, value in result['Metrics'].items():
            items.append(f'{result["Dataset"]} {name} {value}')
    if not items:
        return '-'
    source = model.get('Metadata', {}).get('Results Source', '')
    text = ', '.join(items)
    return f'{text} (paper)' if source.startswith('paper') else text


def download_text(model):
    weights = model.get('Weights')
    return f'[model]({weights})' if weights else 'not released'


def models_table(models):
    lines = [
        '| model | training data | epochs | batch | results | config | '
        'download |', '| --- | --- | --- | --- | --- | --- | --- |'
    ]
    for model in models:
        meta = model.get('Metadata', {})
        lines.append('| {} | {} | {} | {} | {} | `{}` | {} |'.format(
            model['Name'], meta.get('Training Data', '-'),
            meta.get('Epochs', '-'), meta.get('Batch Size', '-'),
            metric_text(model), model['Config'], download_text(model)))
    return '\n'.join(lines)


def collection_data(meta, collection):
    default = collection.get('Metadata', {}).get('Training Data', '-')
    models = [
        m for m in meta.get('Models', [])
        if m.get('In Collection') == collection['Name']
    ]
    for model in models:
        model.setdefault('Metadata', {}).setdefault('Training Data', default)
    return models


def relink(text):
    """Links of a config README, valid from ``model_zoo/papers/``.

    Links into ``docs/en`` are re-rooted; other relative links (files of
    the repository outside the site) keep their text only.
    """

    def rewrite(match):
        label, target = match.group(1), match.group(2)
        if target.startswith('../../docs/en/'):
            return f'[{label}](../../{target[len("../../docs/en/"):]})'
        if re.match(r'[a-z]+:|#', target):
            return match.group(0)
        return label

    return re.sub(r'(?<!!)\[([^\]]+)\]\(([^)\s]+)\)', rewrite, text)


def slug(name):
    return name.lower().replace('-', '')


def main():
    os.makedirs(osp.join(OUT, 'papers'), exist_ok=True)
    metas = load_metafiles()
    rows, all_models = [], []
    for meta in metas:
        for collection in meta['Collections']:
            models = collection_data(meta, collection)
            all_models += models
            paper = collection['Paper']
            page = slug(collection['Name'])
            rows.append(f'| [{collection["Name"]}](papers/{page}.md) | '
                        f'[{paper["Title"]}]({paper["URL"]}) | '
                        f'{len(models)} | '
                        f'{sum(1 for m in models if m.get("Weights"))} |')
            readme = osp.join(ROOT, collection['README'])
            with open(readme) as f:
                text = relink(f.read().rstrip())
            text += ('\n\n## Configs in the metafile\n\n'
                     f'Generated from `{meta["path"]}`; a download link '
                     'appears once a `Weights` field is set.\n\n' +
                     models_table(models) + '\n')
            with open(osp.join(OUT, 'papers', f'{page}.md'), 'w') as f:
                f.write(text)
    stats = [
        '# Model zoo statistics', '',
        'Generated from `model-index.yml` and the metafiles it imports at '
        'every documentation build.', '', f'- Papers: {len(rows)}',
        f'- Configs in the metafiles: {len(all_models)}',
        '- Released checkpoints: '
        f'{sum(1 for m in all_models if m.get("Weights"))}', '',
        '| method | paper | configs | released checkpoints |',
        '| --- | --- | --- | --- |', *rows, '', '## All configs', '',
        models_table(all_models), ''
    ]
    with open(osp.join(OUT, 'statistics.md'), 'w') as f:
        f.write('\n'.join(stats))


if __name__ == '__main__':
    main()
