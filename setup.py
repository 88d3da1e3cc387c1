from setuptools import find_packages, setup


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


setup(
    name='mcl_mm',
    version=read_version(),
    description='Multi-Level Contrastive Learning (MCL) and related '
    'self-supervised pre-training for dense prediction, on OpenMMLab',
    long_description=open('README.md').read(),
    long_description_content_type='text/markdown',
    license='Apache License 2.0',
    packages=find_packages(exclude=('configs', 'tools', 'tests')),
    include_package_data=True,
    python_requires='>=3.8',
    install_requires=read_requirements('requirements/runtime.txt'),
    extras_require=dict(tests=read_requirements('requirements/tests.txt')),
    zip_safe=False,
)
