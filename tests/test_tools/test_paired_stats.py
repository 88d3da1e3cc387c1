"""The evidence statistics against hand-computed intervals."""
import pytest

from benchmarks.paired_stats import (evidence_results, paired, paired_markdown,
                                     parse_pairs, plot_paired, t_interval)

PAIRS = ['mcl-byol', 'mcl-random', 'mcl-mcl_s1', 'mcl_s1-byol']


def test_t_interval_against_a_hand_computation():
    # mean 3, sd sqrt(2.5) = 1.5811, se 0.7071, t(4, 0.975) = 2.776
    r = t_interval([1, 2, 3, 4, 5])
    assert r['mean'] == pytest.approx(3)
    assert r['ci95'] == pytest.approx([3 - 1.9630, 3 + 1.9630], abs=1e-3)
    # two seeds: t(1) = 12.706; diffs 1 and 3: mean 2, sd 1.4142
    assert t_interval([1,
                       3])['ci95'] == pytest.approx([2 - 12.706, 2 + 12.706],
                                                    abs=1e-3)
    # 40 seeds (beyond a 30-row table): t(39, 0.975) = 2.0227; values
    # 0..39: mean 19.5, sd 11.690, se 1.8484
    assert t_interval(list(range(40)))['ci95'] == pytest.approx(
        [19.5 - 3.7388, 19.5 + 3.7388], abs=1e-3)
    with pytest.raises(ValueError, match='2 or more seeds'):
        t_interval([1.0])


def test_paired_differences_keep_the_seed_pairing():
    per_seed = dict(
        bbox_AP=dict(
            mcl=[10., 12., 14.], byol=[9., 12., 11.], random=[5., 6., 7.]),
        dense_probe_miou_all=dict(mcl=[.5, .6], byol=[.4, .4]))
    out = paired(per_seed, parse_pairs(PAIRS))
    # differences 1, 0, 3 (not the difference of the means alone)
    assert out['bbox_AP']['mcl-byol']['mean'] == pytest.approx(4 / 3)
    assert out['bbox_AP']['mcl-random']['mean'] == pytest.approx(6)
    # differences 5, 6, 7: sd 1, se 0.5774, t(2, 0.975) = 4.303
    assert out['bbox_AP']['mcl-random']['ci95'] == pytest.approx(
        [6 - 2.4843, 6 + 2.4843], abs=1e-3)
    assert set(out['dense_probe_miou_all']) == {'mcl-byol'}
    with pytest.raises(ValueError, match='bbox_AP: mcl has 2 seeds, byol 1'):
        paired(dict(bbox_AP=dict(mcl=[1., 2.], byol=[1.])), parse_pairs(PAIRS))
    results = evidence_results([0, 1, 2], per_seed, dict(command='x'), PAIRS)
    assert list(results) == [
        'seeds', 'per_seed', 'means', 'pairs', 'paired', 'settings'
    ]
    assert results['means']['bbox_AP'] == pytest.approx(
        dict(mcl=12, byol=32 / 3, random=6))
    assert results['means']['dense_probe_miou_all'] == pytest.approx(
        dict(mcl=.55, byol=.4))


def test_the_plot_shows_each_pair_of_each_metric(tmp_path):
    per_seed = dict(
        bbox_AP=dict(mcl=[10., 12., 14.], byol=[9., 12., 11.]),
        dense_probe_miou_c5=dict(mcl=[.5, .6, .7], mcl_s1=[.4, .4, .6]))
    results = evidence_results([0, 1, 2], per_seed, {}, PAIRS)
    path = tmp_path / 'paired.png'
    plot_paired(results, ['bbox_AP', 'dense_probe_miou_c5', 'absent'],
                str(path))
    import matplotlib.image
    height, width = matplotlib.image.imread(str(path)).shape[:2]
    # two panels of 4 x 3.6 inches at 100 dpi
    assert (width, height) == (800, 360)


def test_markdown_table_has_means_and_intervals():
    per_seed = dict(
        bbox_AP=dict(mcl=[10., 12., 14.], byol=[9., 12., 11.]),
        dense_probe_miou_c5=dict(mcl=[.5, .6, .7], mcl_s1=[.4, .4, .6]))
    table = paired_markdown(
        evidence_results([0, 1, 2], per_seed, {}, PAIRS),
        ['bbox_AP', 'dense_probe_miou_c5'])
    lines = table.splitlines()
    assert lines[0] == '| metric | mcl | byol | mcl_s1 | mcl-byol | ' \
        'mcl-mcl_s1 |'
    # differences 1, 0, 3: mean 1.333, sd 1.528, se 0.882, t(2) 4.303
    assert lines[2] == '| bbox_AP | 12 | 10.7 |  | +1.33 [-2.46, +5.13] |  |'
    assert lines[3].startswith('| dense_probe_miou_c5 | 0.6 |  | 0.467 |  |')


def test_the_one_level_ablation_is_paired_with_byol_too():
    per_seed = dict(
        bbox_AP=dict(mcl=[10., 12.], byol=[9., 12.], mcl_s1=[11., 11.]))
    out = paired(per_seed, parse_pairs(PAIRS))['bbox_AP']
    assert sorted(out) == ['mcl-byol', 'mcl-mcl_s1', 'mcl_s1-byol']
    # differences 2, -1: mean 0.5, sd 2.121, se 1.5, t(1) 12.706
    assert out['mcl_s1-byol']['mean'] == pytest.approx(0.5)
    assert out['mcl_s1-byol']['ci95'] == pytest.approx(
        [0.5 - 12.706 * 1.5, 0.5 + 12.706 * 1.5], abs=1e-3)


def test_pairs_are_data_and_malformed_ones_are_named():
    assert parse_pairs(['mcl_s3-mcl_s1']) == [('mcl_s3-mcl_s1', 'mcl_s3',
                                               'mcl_s1')]
    for bad in ('mcl', 'a-b-c', '-byol'):
        with pytest.raises(ValueError, match=f'pair {bad!r}: expected'):
            parse_pairs([bad])
    per_seed = dict(bbox_AP=dict(mcl_s3=[3., 5.], mcl_s1=[1., 1.]))
    out = paired(per_seed, parse_pairs(['mcl_s3-mcl_s1', 'mcl-byol']))
    assert list(out['bbox_AP']) == ['mcl_s3-mcl_s1']
    assert out['bbox_AP']['mcl_s3-mcl_s1']['mean'] == pytest.approx(3)
