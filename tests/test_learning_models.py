"""The fitted churn models: recovery of a known churn model on synthetic history, unknown
inputs, the Platt/isotonic maps against scikit-learn, and the model file."""

import json
import math
import random
from datetime import date

import pytest
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from tools.learning.backtest import (
    NotEnoughData,
    Observation,
    Refused,
    learn,
    observe,
    run_backtest,
)
from tools.learning.features import FEATURE_NAMES, account_features
from tools.learning.fit import fit_calibrated, fit_learned
from tools.learning.history import Snapshot, history_rows
from tools.learning.metrics import model_metrics
from tools.learning.model_file import (
    Isotonic,
    ModelFileError,
    Platt,
    load_model,
    parse_model,
    save_model,
)
from tools.learning.split import time_split
from tools.learning.synthetic import synthetic_history
from tools.portfolio.account import Account

AUC_TOLERANCE = 0.04  # learned AUC within this of the generator's own AUC on the test set
ECE_TOLERANCE = 0.03  # learned calibration error on the test set at most this


def observations_of(history, playbook):
    snapshots = history_rows("synthetic", enumerate(history.rows, start=1))
    return [observe(s, playbook) for s in snapshots if isinstance(s, Snapshot)]


@pytest.fixture(scope="module")
def synthetic(playbook):
    history = synthetic_history(accounts=300, months=24, seed=0)
    observations = observations_of(history, playbook)
    end = max(o.as_of for o in observations)
    return history, observations, end, run_backtest(observations, playbook, 90, end)


def test_learned_model_recovers_the_generators_auc_and_calibration(synthetic):
    history, _, _, backtest = synthetic
    rows = backtest.labelled.rows
    split = time_split([o.as_of for o, _ in rows], 90, 0.3)
    test = [rows[i] for i in split.test]
    labels = [y for _, y in test]
    truth = model_metrics(
        labels, [history.true_probability[(o.id, o.as_of.isoformat())] for o, _ in test], 10
    )
    learned = backtest.result.models["learned"]
    assert learned.n == len(test) > 1500 and learned.positives > 80
    assert abs(learned.auc - truth.auc) <= AUC_TOLERANCE, (learned.auc, truth.auc)
    assert learned.ece <= ECE_TOLERANCE
    assert learned.brier < backtest.result.models["baseline"].brier


def test_backtest_report_on_synthetic_history(synthetic):
    result = synthetic[3].result
    models = result.models
    assert set(models) == {"baseline", "playbook", "calibrated", "learned"}
    assert len({(m.n, m.positives) for m in models.values()}) == 1  # the same test set
    assert models["baseline"].auc == 0.5
    # calibration keeps the playbook's ranking (a monotone map) and fixes its probabilities
    assert abs(models["calibrated"].auc - models["playbook"].auc) < 0.02
    assert models["calibrated"].ece < models["playbook"].ece
    assert result.verdict.model == "learned" and "Trust the learned model" in result.verdict.reason
    assert result.tiers_monotonic is True
    assert {f.id for f in result.factors} == {
        "contract_value", "engagement", "payment_delays", "support_volume", "feature_adoption",
        "satisfaction", "login_recency",
    }
    # the generator's churn rises as engagement and CSAT fall: the playbook's direction
    agrees = {f.id: f.agrees for f in result.factors}
    assert agrees["engagement"] and agrees["satisfaction"] and agrees["login_recency"]
    counts = result.counts
    assert counts.labelled == result.train.n + result.test.n + counts.between_sets
    assert counts.snapshots == counts.labelled + counts.open_window + counts.after_churn


def test_too_little_history_is_one_clear_message(playbook):
    small = observations_of(synthetic_history(accounts=20, months=12, seed=1), playbook)
    with pytest.raises(NotEnoughData, match=r"too little history for a backtest: the training "
                       r"set has \d+ churned and \d+ retained"):
        run_backtest(small, playbook, 90, max(o.as_of for o in small))


def test_one_date_and_no_closed_window(playbook):
    one = [Observation(f"a{i}", date(2025, 1, 1), None, [None] * len(FEATURE_NAMES), 0.1, "low")
           for i in range(50)]
    with pytest.raises(NotEnoughData, match="every labelled snapshot is from one date"):
        run_backtest(one, playbook, 90, date(2025, 6, 1))
    with pytest.raises(NotEnoughData, match="no snapshot has a closed 90-day window"):
        run_backtest(one, playbook, 90, date(2025, 1, 1))


def test_unknown_input_is_flagged_not_zero():
    rng = random.Random(3)
    rows, labels = [], []
    for _ in range(400):
        csat = rng.uniform(0, 10)
        churned = int(rng.random() < 1 / (1 + math.exp(csat - 5)))
        row = [None] * len(FEATURE_NAMES)
        # unknown CSAT goes with churn here, so its indicator must learn that
        row[FEATURE_NAMES.index("csat")] = None if churned and rng.random() < 0.5 else csat
        rows.append(row)
        labels.append(churned)
    model = fit_learned(rows, labels)
    (csat,) = [f for f in model.features if f.name == "csat"]
    assert csat.missing_coef is not None and csat.missing_coef > 0
    assert csat.impute != 0
    unknown = [None] * len(FEATURE_NAMES)
    zero = list(unknown)
    zero[FEATURE_NAMES.index("csat")] = 0.0
    assert model.probability(unknown) != model.probability(zero)


def test_learned_spec_reproduces_scikit_learn(synthetic):
    _, observations, _, _ = synthetic
    rows = [o.features for o in observations[:1500]]
    labels = [int(o.churned_on is not None) for o in observations[:1500]]
    model = fit_learned(rows, labels)
    matrix = [model.columns(r) for r in rows]
    reference = LogisticRegression(C=model.regularization_c, max_iter=5000).fit(matrix, labels)
    expected = reference.predict_proba(matrix[:50])[:, 1]
    for row, p in zip(rows[:50], expected, strict=True):
        assert model.probability(row) == pytest.approx(p, abs=1e-6)


def test_maps_reproduce_scikit_learn():
    rng = random.Random(5)
    scores = [rng.random() for _ in range(300)]
    labels = [int(rng.random() < s * 0.8) for s in scores]
    iso = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(scores, labels)
    spec = Isotonic(x=list(iso.X_thresholds_), y=list(iso.y_thresholds_))
    for x in [0.0, 0.05, 0.3333, 0.5, 0.77, 1.0] + scores[:20]:
        assert spec.apply(x, 0.001) == pytest.approx(float(iso.predict([x])[0]), abs=1e-12)
    floor = 0.001
    logits = [[math.log(max(floor, min(1 - floor, s)) / (1 - max(floor, min(1 - floor, s))))]
              for s in scores]
    platt = LogisticRegression(C=1e6, max_iter=1000).fit(logits, labels)
    spec = Platt(slope=platt.coef_[0][0], intercept=platt.intercept_[0])
    for s, row in zip(scores[:20], logits[:20], strict=True):
        assert spec.apply(s, floor) == pytest.approx(platt.predict_proba([row])[0, 1], abs=1e-12)


def test_calibration_map_chosen_by_training_folds():
    rng = random.Random(9)
    days = [date(2024, 1 + i % 10, 1) for i in range(2000)]
    # a step: churn jumps at 0.5, which isotonic regression follows and a logistic curve cannot
    scores = [rng.random() for _ in days]
    labels = [int(rng.random() < (0.05 if s < 0.5 else 0.6)) for s in scores]
    step = fit_calibrated(scores, labels, days, 5, 0.001)
    assert step.map.kind == "isotonic" and step.fold_brier["isotonic"] < step.fold_brier["platt"]
    # a smooth logistic relation: Platt is as good or better on held-out folds
    labels = [int(rng.random() < 1 / (1 + math.exp(-(6 * s - 4)))) for s in scores]
    smooth = fit_calibrated(scores, labels, days, 5, 0.001)
    assert smooth.map.kind == "platt"
    # unknown playbook probability: the training rate stands in
    partial = fit_calibrated([None, *scores[1:]], labels, days, 5, 0.001)
    assert partial.fallback == round(sum(labels) / len(labels), 6)


def test_features_are_read_from_the_reviewed_account():
    account = Account(id="a", name="A", last_login="2030-01-01", csat=8, mrr=100000,
                      weekly_logins=[1, 2, 3, 4, 5, 6, 7, 8], active_seats=3, licensed_seats=4)
    values = dict(zip(FEATURE_NAMES, account_features(account, date(2025, 1, 1)), strict=True))
    assert values["days_since_login"] is None  # a future last login is not believed
    assert values["csat"] == 8.0 and values["log_mrr"] == pytest.approx(math.log1p(100000))
    assert values["logins_4w"] == 6.5 and values["logins_change"] == 4.0
    assert values["seat_usage"] == 0.75 and values["nps"] is None


# the model file -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def learned(synthetic, playbook):
    _, observations, end, _ = synthetic
    data, result = learn(observations, playbook, 90, end)
    return data, result


def test_model_file_round_trip(learned, synthetic, tmp_path, playbook):
    data, result = learned
    path = tmp_path / "model.json"
    save_model(data, path)
    text = path.read_text("utf-8")
    assert "pickle" not in text and json.loads(text) == data
    model = load_model(path)
    assert model.format == "csm-churn-model" and model.format_version == 1
    assert model.source == str(path)
    assert model.use == min(("calibrated", "learned"), key=lambda m: result.models[m].brier)
    assert model.backtest.models["learned"].auc == result.models["learned"].auc
    assert model.training.end == synthetic[2] and model.training.n == len(
        synthetic[3].labelled.rows
    )
    assert [f.name for f in model.learned.features] == [
        n for n in FEATURE_NAMES if n in {f.name for f in model.learned.features}
    ]
    assert all(f.about for f in model.learned.features)
    text = model.describe()
    assert text.startswith(f"{model.use} model (") and "Brier" in text and "base rate" in text
    o = synthetic[1][0]
    for which in ("calibrated", "learned"):
        p = model.churn_probability(o.features, o.playbook, which)
        assert 0.001 <= p <= 0.999


def edited(data, change):
    copy = json.loads(json.dumps(data))
    change(copy)
    return copy


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["learned"].update(intercept=d["learned"]["intercept"] + 1),
         "does not match its digest"),
        (lambda d: d.update(format_version=2), "format version 2 is not one this csm reads"),
        (lambda d: d.pop("format"), "not a csm churn model"),
        (lambda d: d.pop("training"), "key 'training': Field required"),
        (lambda d: d.update(extra=1), "key 'extra': Extra inputs are not permitted"),
        (lambda d: d["learned"]["features"][0].update(name="__import__('os')"),
         "is not a feature this version computes"),
        (lambda d: d["learned"]["features"][0].update(scale=0),
         "Input should be greater than 0"),
        (lambda d: d.update(use="exec"), "key 'use'"),
    ],
)
def test_tampered_or_unknown_model_file_is_refused(learned, change, message):
    with pytest.raises(ModelFileError, match=message):
        parse_model(edited(learned[0], change), "m.json")


def test_isotonic_map_must_be_monotone(learned):
    data = learned[0]
    bad = {"kind": "isotonic", "x": [0.1, 0.2], "y": [0.5, 0.4]}
    with pytest.raises(ModelFileError, match="y must not decrease"):
        parse_model(edited(data, lambda d: d["calibrated"].update(map=bad)), "m.json")


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"\x80\x04\x95pickle", "cannot be read"), (b"{not json", "not valid JSON"),
     (b"[]", "not a csm churn model")],
)
def test_unreadable_model_files(tmp_path, content, message):
    path = tmp_path / "m.json"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match=message):
        load_model(path)
    with pytest.raises(ModelFileError, match="not found"):
        load_model(tmp_path / "missing.json")


def test_learn_refuses_a_model_that_does_not_beat_the_base_rate(playbook):
    # What predicted churn in the training months predicts staying in the test months: every
    # fitted model is worse than the base rate there.
    rng = random.Random(2)
    observations = []
    for k in range(600):
        for month in range(1, 13):
            score = rng.random()
            risky = score > 0.5 if month <= 6 else score < 0.5
            churn = date(2024, month, 20) if rng.random() < (0.3 if risky else 0.01) else None
            observations.append(Observation(
                f"a{k}", date(2024, month, 1), churn, [score * 10] * len(FEATURE_NAMES),
                score, "low"))
            if churn:
                break
    end = date(2024, 12, 31)
    with pytest.raises(Refused, match=r"no model written: the better fitted model \(\w+\) does "
                       r"not beat the base rate on the backtest: Brier"):
        learn(observations, playbook, 90, end)
    data, _ = learn(observations, playbook, 90, end, force=True)
    model = parse_model(data, "m.json")
    assert model.forced and "does not beat the base rate" in model.reason
    assert model.describe().endswith("(kept with --force: it does not beat the base rate)")


def figures(brier, auc, ece=0.01):
    from tools.learning.metrics import ModelMetrics

    return ModelMetrics(n=1000, positives=100, auc=auc, pr_auc=None, brier=brier, log_loss=0.3,
                        ece=ece)


def test_verdict_in_plain_words():
    from tools.learning.backtest import verdict

    found = verdict({"baseline": figures(0.09, 0.5), "playbook": figures(0.48, 0.70, 0.52),
                     "calibrated": figures(0.085, 0.70), "learned": figures(0.08, 0.83)})
    assert found.model == "learned"
    assert found.reason == (
        "Trust the learned model: on the 1,000 test snapshots it has the most accurate "
        "probabilities (Brier 0.080 vs 0.090 for the base rate, calibration error 0.010) and "
        "ranks churners with AUC 0.83. The playbook's probabilities are worse than giving "
        "every account the base rate (Brier 0.480, calibration error 0.520): use its score to "
        "rank (AUC 0.70), not as a probability."
    )
    found = verdict({"baseline": figures(0.09, 0.5), "playbook": figures(0.1, 0.6),
                     "calibrated": figures(0.08, 0.6), "learned": figures(0.081, 0.7)})
    assert found.model == "calibrated" and "The learned model ranks churners better (AUC " \
        "0.70): use it to order a call list" in found.reason
    found = verdict({"baseline": figures(0.09, 0.5), "playbook": figures(0.2, 0.6),
                     "calibrated": figures(0.09, 0.6), "learned": figures(0.095, 0.55)})
    assert found.model is None and found.reason.startswith("No model beats the base rate")
