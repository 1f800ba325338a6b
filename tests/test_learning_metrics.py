"""Backtest figures against hand-computed small cases (SPEC 14)."""

import math

import pytest

from tools.learning.metrics import (
    Z95,
    auc_alone,
    expected_calibration_error,
    model_metrics,
    reliability,
    wilson,
)

# Six snapshots: three churned. By hand below.
Y = [0, 0, 1, 1, 0, 1]
P = [0.1, 0.4, 0.35, 0.8, 0.45, 0.85]


def test_auc_by_hand():
    # churned {0.35, 0.8, 0.85} x retained {0.1, 0.4, 0.45}: 0.35 beats only 0.1 (1 pair),
    # 0.8 and 0.85 beat all three (6 pairs): 7 of 9 pairs ranked right.
    assert model_metrics(Y, P, 10).auc == round(7 / 9, 4) == 0.7778


def test_pr_auc_is_average_precision_by_hand():
    # By probability, highest first: 0.85 (1), 0.8 (1), 0.45, 0.4, 0.35 (1), 0.1. Precision at
    # each churner: 1/1, 2/2, 3/5; each adds 1/3 of recall: (1 + 1 + 0.6) / 3.
    assert model_metrics(Y, P, 10).pr_auc == round(2.6 / 3, 4) == 0.8667


def test_brier_and_log_loss_by_hand():
    m = model_metrics(Y, P, 10)
    squares = [0.1**2, 0.4**2, 0.65**2, 0.2**2, 0.45**2, 0.15**2]
    assert m.brier == round(sum(squares) / 6, 4) == 0.1429
    # -ln of the probability given to what happened: 0.9, 0.6, 0.35, 0.8, 0.55, 0.85
    losses = [-math.log(v) for v in (0.9, 0.6, 0.35, 0.8, 0.55, 0.85)]
    assert m.log_loss == round(sum(losses) / 6, 4) == 0.4416
    assert (m.n, m.positives) == (6, 3)


def test_reliability_table_and_ece_by_hand():
    table = reliability(Y, P, 10)
    assert [b.bin for b in table] == list(range(10))
    filled = {b.bin: (b.n, b.predicted, b.observed) for b in table if b.n}
    # 0.1 -> bin 1; 0.35 -> bin 3; 0.4 and 0.45 -> bin 4; 0.8 and 0.85 -> bin 8
    assert filled == {1: (1, 0.1, 0.0), 3: (1, 0.35, 1.0), 4: (2, 0.425, 0.0), 8: (2, 0.825, 1.0)}
    assert all(b.predicted is None and b.observed is None for b in table if b.n == 0)
    # weighted gaps: (1 x 0.1 + 1 x 0.65 + 2 x 0.425 + 2 x 0.175) / 6 = 1.95 / 6
    assert expected_calibration_error(Y, P, 10) == pytest.approx(0.325)
    assert model_metrics(Y, P, 10).ece == 0.325


def test_bin_edges():
    # a bin holds [i/10, (i+1)/10); 1.0 falls into the last bin, 0.0 into the first
    table = reliability([0, 1, 0, 1], [0.0, 0.3, 0.2999, 1.0], 10)
    assert {b.bin: b.n for b in table if b.n} == {0: 1, 2: 1, 3: 1, 9: 1}


def test_one_class_has_no_auc():
    m = model_metrics([0, 0, 0], [0.1, 0.2, 0.3], 10)
    assert m.auc is None and m.pr_auc is None and m.brier == round((0.01 + 0.04 + 0.09) / 3, 4)
    assert auc_alone([1, 1], [0.5, 0.6]) is None


def test_auc_alone_reads_higher_as_riskier():
    assert auc_alone([0, 0, 1, 1], [1, 2, 3, 4]) == 1.0
    assert auc_alone([0, 0, 1, 1], [4, 3, 2, 1]) == 0.0


def test_wilson_interval_by_hand():
    # 3 of 10, z = 1.959964: centre (0.3 + z^2/20) / (1 + z^2/10) = 0.355503, half-width
    # z / (1 + z^2/10) x sqrt(0.3 x 0.7 / 10 + z^2 / 400) = 0.247714
    assert Z95 == pytest.approx(1.959964, abs=1e-6)
    assert wilson(3, 10) == (0.1078, 0.6032)
    # none of 10: from 0 to z^2/10 / (1 + z^2/10) = 0.2775
    assert wilson(0, 10) == (0.0, 0.2775)
    assert wilson(10, 10) == (0.7225, 1.0)
    assert wilson(0, 0) is None
