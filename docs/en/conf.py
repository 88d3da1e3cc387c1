# Sphinx configuration of the mcl_mm documentation (`make docs`).
import os
import runpy
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
# autodoc imports mcl_mm from this checkout
sys.path.insert(0, ROOT)

# the model zoo pages are generated from the metafiles at every build
runpy.run_path(os.path.join(HERE, 'stat.py'), run_name='__main__')


def _version():
    scope = {}
    with open(os.path.join(ROOT, 'mcl_mm', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


project = 'mcl_mm'
author = 'mcl_mm contributors'
copyright = '2026, mcl_mm contributors'
release = version = _version()

extensions = ['myst_parser', 'sphinx.ext.autodoc', 'sphinx.ext.napoleon']
autodoc_member_order = 'bysource'
autodoc_typehints = 'description'
autoclass_content = 'class'
source_suffix = {'.md': 'markdown'}
root_doc = 'index'
exclude_patterns = ['_build']
myst_enable_extensions = ['colon_fence']
myst_heading_anchors = 3

html_theme = 'furo'
html_title = f'mcl_mm {release}'
html_static_path = []
