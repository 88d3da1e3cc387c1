# Copyright (c) mcl_mm contributors. All rights reserved.
"""Summarise a CI run: each stage's seconds and its tests' counts.

``.ci/run`` times its stages (lint, the test suite, the numpy-1 subset, the
documentation build) and has pytest write a JUnit XML report per test
stage; this writes one JSON file with the seconds, the counts (tests,
passed, skipped, failed, errors) read from the reports, the total, the
commit, the date, the CPU count and the numpy version.

Example::

    python tools/ci_summary.py --out work_dirs/ci/summary.json \\
        --stage lint=12 test=1175 --junit test=work_dirs/ci/test.xml
"""
import argparse
import datetime
import json
import os
import subprocess
import xml.etree.ElementTree as ET
from typing import Dict


def junit_counts(path: str) -> Dict[str, int]:
    """The test counts of a pytest JUnit XML report.

    Args:
        path (str): The report (``pytest --junitxml=path``).

    Returns:
        Dict[str, int]: ``tests``, ``passed``, ``skipped``, ``failed`` and
        ``errors``, summed over the report's test suites.
    """
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == 'testsuite' else root.iter('testsuite')
    counts = dict(tests=0, skipped=0, failed=0, errors=0)
    for suite in suites:
        counts['tests'] += int(suite.get('tests', 0))
        counts['skipped'] += int(suite.get('skipped', 0))
        counts['failed'] += int(suite.get('failures', 0))
        counts['errors'] += int(suite.get('errors', 0))
    counts['passed'] = (
        counts['tests'] - counts['skipped'] - counts['failed'] -
        counts['errors'])
    return counts


def _pairs(items, what: str) -> Dict[str, str]:
    out = {}
    for item in items or []:
        name, sep, value = item.partition('=')
        if not sep or not name or not value:
            raise SystemExit(f'{what} {item!r}: expected NAME=VALUE')
        out[name] = value
    return out


def summary(stages: Dict[str, float], reports: Dict[str, str]) -> dict:
    """The summary of one CI run.

    Args:
        stages (Dict[str, float]): Stage name -> seconds.
        reports (Dict[str, str]): Stage name -> its JUnit XML report.
    """
    commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'],
                            capture_output=True,
                            text=True).stdout.strip()
    import numpy
    return dict(
        date=datetime.date.today().isoformat(),
        commit=commit,
        cpus=os.cpu_count(),
        numpy=numpy.__version__,
        seconds=dict(stages, total=sum(stages.values())),
        tests={
            name: junit_counts(path)
            for name, path in reports.items()
        })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', required=True, help='the JSON file')
    parser.add_argument(
        '--stage', nargs='+', help='NAME=SECONDS of each stage, in order')
    parser.add_argument(
        '--junit', nargs='*', help='NAME=REPORT: a test stage\'s report')
    args = parser.parse_args()
    stages = {
        name: float(value)
        for name, value in _pairs(args.stage, '--stage').items()
    }
    result = summary(stages, _pairs(args.junit, '--junit'))
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, 'w') as f:
        json.dump(result, f, indent=1)
    print(json.dumps(result))


if __name__ == '__main__':
    main()
