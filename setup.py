import os
import os.path as osp
import shutil
import sys

from setuptools import find_packages, setup

MIM_FILES = ('model-index.yml', 'configs', 'tools', 'README.md')


def add_mim_extension() -> None:
    """Put model-index.yml, configs and tools under mcl_mm/.mim, as
    OpenMMLab packages do, so `mim search mcl_mm` and `mim train` find them:
    symlinks for an editable install, copies for a wheel."""
    if any(cmd in sys.argv for cmd in ('develop', 'editable_wheel')):
        mode = 'symlink'
    elif any(cmd in sys.argv for cmd in ('install', 'bdist_wheel', 'sdist')):
        mode = 'copy'
    else:
        return
    root = osp.dirname(osp.abspath(__file__))
    mim = osp.join(root, 'mcl_mm', '.mim')
    os.makedirs(mim, exist_ok=True)
    for name in MIM_FILES:
        src, dst = osp.join(root, name), osp.join(mim, name)
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if mode == 'symlink':
            os.symlink(osp.relpath(src, mim), dst)
        elif osp.isdir(src):
            shutil.copytree(src, dst)
        else:
            shutil.copyfile(src, dst)


def read_version() -> str:
    scope: dict = {}
    with open('mcl_mm/version.py') as f:
        exec(f.read(), scope)
    return scope['__version__']


def read_requirements(path: str) -> list:
    with open(path) as f:
        return [
            line.split('#')[0].strip() for line in f
            if line.split('#')[0].strip() and not line.startswith('-r')
        ]


add_mim_extension()
setup(
    name='mcl_mm',
    version=read_version(),
    description='Multi-Level Contrastive Learning (MCL) and related '
    'self-supervised pre-training for dense prediction, on OpenMMLab',
    long_description=open('README.md').read(),
    long_description_content_type='text/markdown',
    license='Apache License 2.0',
    # mcl_mm only: benchmarks/ (the repository's measurements), tools/ and
    # tests/ stay in the repository
    packages=find_packages(include=('mcl_mm', 'mcl_mm.*')),
    include_package_data=True,
    package_data={'mcl_mm': ['.mim/**/*', '.mim/*']},
    python_requires='>=3.8',
    install_requires=read_requirements('requirements/runtime.txt'),
    extras_require=dict(tests=read_requirements('requirements/tests.txt')),
    zip_safe=False,
)
