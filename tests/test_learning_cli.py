"""`csm backtest`, `csm learn` and the model file in `csm score`, `csm assess`, `csm sweep` and
the tools, end to end; without a model file every output stays as it was."""

import builtins
import json

import pytest

from agent.chat.tool_surface import READ_TOOLS, ToolError
from agent.interfaces.cli import main
from tools.learning.history import read_history

MODEL_KEYS = {"baseline", "playbook", "calibrated", "learned"}
METRIC_KEYS = {"n", "positives", "auc", "pr_auc", "brier", "log_loss", "ece", "reliability"}


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    path = tmp_path_factory.mktemp("history") / "history.jsonl"
    assert main(["sample", "--history", "--accounts", "160", "--snapshots", "18", "--seed", "4",
                 "--as-of", "2026-08-20", "--out", str(path)]) == 0
    return path


@pytest.fixture(scope="module")
def model_file(history, tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "churn-model.json"
    assert main(["learn", str(history), "--out", str(path)]) == 0
    return path


def test_sample_history_is_a_valid_history(history):
    read = read_history(history)
    assert read.errors == [] and read.warnings == []
    dates = sorted({s.as_of.isoformat() for s in read.snapshots})
    assert len(dates) == 18 and dates[0] == "2025-03-01" and dates[-1] == "2026-08-01"
    assert any(s.churned_on for s in read.snapshots)
    ids = [{s.account.id for s in read.snapshots if s.as_of.isoformat() == d} for d in dates]
    assert ids[0] - ids[-1] and ids[-1] - ids[0]  # accounts leave and join


def test_backtest_json_is_one_object_of_the_documented_shape(history, capsys, tmp_path):
    code, out, err = run(capsys, "backtest", history, "--format", "json", "--out", tmp_path)
    assert code == 0, err
    data = json.loads(out)
    assert {"horizon_days", "end", "train", "test", "models", "tiers", "tiers_monotonic",
            "factors", "warnings"} <= set(data)
    assert data["horizon_days"] == 90 and data["end"] == "2026-08-01"
    for part in ("train", "test"):
        assert set(data[part]) == {"n", "positives", "from", "to"}
    assert data["train"]["to"] < data["test"]["from"]
    assert set(data["models"]) == MODEL_KEYS
    for figures in data["models"].values():
        assert set(figures) == METRIC_KEYS and len(figures["reliability"]) == 10
        assert set(figures["reliability"][0]) == {"bin", "n", "predicted", "observed"}
        assert sum(b["n"] for b in figures["reliability"]) == data["test"]["n"]
    assert [t["tier"] for t in data["tiers"]] == ["low", "medium", "high", "critical"]
    assert {"tier", "n", "churn_rate", "low", "high"} <= set(data["tiers"][0])
    assert {"id", "auc", "agrees"} <= set(data["factors"][0]) and len(data["factors"]) == 7
    pngs = sorted(p.name for p in tmp_path.iterdir())
    assert pngs == [f"reliability-{m}.png" for m in sorted(MODEL_KEYS)]
    assert all((tmp_path / p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)


def test_backtest_markdown_says_which_model_to_trust(history, capsys):
    code, out, _ = run(capsys, "backtest", history, "--horizon-days", "60")
    assert code == 0
    assert out.startswith("# Churn backtest: 60-day horizon, history to 2026-08-01")
    assert "## Which model to trust" in out and ("Trust the" in out or "No model beats" in out)
    for heading in ("## Models on the test set", "## Playbook tiers on the test set",
                    "## Churn factors alone", "How to read it"):
        assert heading in out


def test_end_date_cuts_the_history(history, capsys):
    data = json.loads(run(capsys, "backtest", history, "--format", "json",
                          "--end", "2026-05-01")[1])
    assert data["end"] == "2026-05-01" and data["test"]["to"] <= "2026-02-01"
    assert data["counts"]["after_end"] > 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--accounts", "25", "--snapshots", "12"], "too little history for a backtest"),
        (["--accounts", "200", "--snapshots", "1"], "no snapshot has a closed 90-day window"),
    ],
)
def test_too_little_data_is_one_sentence(tmp_path, capsys, args, message):
    path = tmp_path / "h.csv"
    main(["sample", "--history", *args, "--out", str(path)])
    capsys.readouterr()
    code, out, err = run(capsys, "backtest", path)
    assert code == 1 and out == ""
    lines = [line for line in err.splitlines() if line.startswith("csm: error:")]
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in err


def test_bad_rows_are_named_and_the_backtest_goes_on(history, tmp_path, capsys):
    path = tmp_path / "h.jsonl"
    lines = history.read_text("utf-8").splitlines()
    path.write_text("\n".join([lines[0], '{"id": "x", "name": "X"}', *lines[1:]]) + "\n",
                    "utf-8")
    code, out, err = run(capsys, "backtest", path, "--format", "json")
    assert code == 2
    assert "csm: rejected h.jsonl: row 2 (id x): as_of: required, but missing" in err
    assert any("1 history row(s) rejected" in w for w in json.loads(out)["warnings"])


def test_missing_scikit_learn_names_the_extra(history, capsys, monkeypatch):
    real = builtins.__import__

    def without_sklearn(name, *args, **kwargs):
        if name == "sklearn" or name.startswith("sklearn."):
            raise ImportError("No module named 'sklearn'")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_sklearn)
    for command in ("backtest", "learn"):
        extra = ["--out", "m.json"] if command == "learn" else []
        code, out, err = run(capsys, command, history, *extra)
        assert code == 1 and err.strip() == (
            f"csm: error: `csm {command}` needs sklearn, which a base install leaves out; "
            "install the extra: pip install 'csm-agent[learn]'."
        )


def test_no_history_file_is_one_sentence(capsys, tmp_path):
    code, _, err = run(capsys, "backtest")
    assert code == 1 and "pass a history file" in err
    code, _, err = run(capsys, "backtest", tmp_path / "none.jsonl")
    assert code == 1 and "file not found" in err


def test_learn_writes_a_readable_model_file(model_file, capsys):
    data = json.loads(model_file.read_text("utf-8"))
    assert data["format"] == "csm-churn-model" and data["format_version"] == 1
    assert data["digest"].startswith("sha256:")
    assert data["training"]["end"] == "2026-08-01" and data["horizon_days"] == 90
    assert data["use"] in ("calibrated", "learned") and data["forced"] is False
    assert set(data["backtest"]["models"]) == MODEL_KEYS
    assert {f["name"] for f in data["learned"]["features"]} >= {"engagement_score", "csat"}


def score_json(capsys, *extra):
    code, out, err = run(capsys, "score", "--format", "json", "--as-of", "2026-11-20", *extra)
    assert code == 0, err
    return json.loads(out)


def test_score_with_a_model_adds_its_forecast_and_nothing_else(model_file, capsys):
    plain = score_json(capsys)
    with_model = score_json(capsys, "--model-file", model_file)
    summary = with_model.pop("model")
    assert list(with_model) == list(plain) == ["as_of", "accounts", "errors", "warnings"]
    assert summary["file"] == str(model_file) and summary["model"] in ("calibrated", "learned")
    assert "base rate" in summary["method"] and summary["trained_to"] == "2026-08-01"
    for before, after in zip(plain["accounts"], with_model["accounts"], strict=True):
        forecast = after.pop("model_forecast")
        assert after == before
        assert 0 < forecast["churn_probability"] < 1
        assert forecast["renewal_probability"] == round(1 - forecast["churn_probability"], 4)
        assert forecast["method"] == summary["method"] and forecast["horizon_days"] == 90


def test_score_csv_and_table_with_a_model(model_file, capsys):
    _, plain, _ = run(capsys, "score", "--format", "csv")
    code, out, _ = run(capsys, "score", "--format", "csv", "--model-file", model_file)
    header, first = out.splitlines()[:2]
    assert code == 0 and header == plain.splitlines()[0] + ",churn_probability," \
        "model_renewal_probability"
    assert first.startswith(plain.splitlines()[1] + ",0.")
    code, out, _ = run(capsys, "score", "--model-file", model_file)
    assert code == 0 and "churn 90d" in out and "Model churn: " in out  # a two-line header


def test_model_file_from_the_environment_and_the_playbook(model_file, capsys, monkeypatch,
                                                          tmp_path):
    monkeypatch.setenv("CSM_MODEL_FILE", str(model_file))
    assert "model" in score_json(capsys)
    monkeypatch.delenv("CSM_MODEL_FILE")
    from tools.playbook import default_playbook_path

    text = default_playbook_path().read_text("utf-8")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "m.json").write_bytes(model_file.read_bytes())
    custom = tmp_path / "playbook.yaml"
    custom.write_text(text.replace("  model_file: null", "  model_file: models/m.json"), "utf-8")
    summary = score_json(capsys, "--playbook", custom)["model"]
    assert summary["file"] == str(tmp_path / "models" / "m.json")
    # a model fitted with another playbook version is used, with a warning
    other = tmp_path / "other-playbook.yaml"
    other.write_text(text.replace('version: "2026.11-default"', 'version: "mine-1"'), "utf-8")
    code, _, err = run(capsys, "score", "--playbook", other, "--model-file", model_file)
    assert code == 0 and (
        "csm: warning: the churn model was fitted with playbook 2026.11-default, this run uses "
        "mine-1" in err
    )


def test_a_broken_model_file_is_one_sentence(model_file, capsys, tmp_path):
    data = json.loads(model_file.read_text("utf-8"))
    data["learned"]["intercept"] += 0.5
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(data), "utf-8")
    code, out, err = run(capsys, "score", "--model-file", path)
    assert code == 1 and out == ""
    assert err.strip() == (
        f"csm: error: model file {path}: its content does not match its digest (it was changed "
        "after `csm learn` wrote it); write it again with `csm learn`."
    )


def test_learn_refuses_with_the_reason_and_force_writes(tmp_path, capsys):
    # Low CSAT goes with churn in the first half year and with staying in the second: what the
    # models learn on the training months is wrong on the test months.
    import random

    rng = random.Random(7)
    rows = []
    for k in range(600):
        for month in range(1, 13):
            csat = round(rng.uniform(0, 10), 1)
            risky = csat < 5 if month <= 6 else csat >= 5
            churned = rng.random() < (0.3 if risky else 0.01)
            rows.append({"id": f"a{k}", "name": f"A{k}", "csat": csat,
                         "as_of": f"2024-{month:02d}-01",
                         "churned_on": f"2024-{month:02d}-20" if churned else ""})
            if churned:
                break
    path = tmp_path / "shifted.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    model = tmp_path / "m.json"
    code, out, err = run(capsys, "learn", path, "--end", "2024-12-31", "--out", model)
    assert code == 1 and not model.exists()
    assert "csm: error: no model written: the better fitted model" in err
    assert "does not beat the base rate on the backtest: Brier" in err and "--force" in err
    code, out, err = run(capsys, "learn", path, "--end", "2024-12-31", "--out", model, "--force")
    assert code == 0 and model.exists() and out.startswith(f"wrote {model}: ")
    assert "csm learn: warning: the better fitted model" in err
    assert json.loads(model.read_text("utf-8"))["forced"] is True
    # too little history is refused before any fitting
    code, _, err = run(capsys, "learn", path, "--horizon-days", "1", "--out", tmp_path / "x")
    assert code == 1 and "too little history" in err


def test_assess_shows_the_model_beside_the_playbook(model_file, capsys):
    code, plain, _ = run(capsys, "assess", "--account", "acc-037")
    code, out, _ = run(capsys, "assess", "--account", "acc-037", "--model-file", model_file)
    assert code == 0 and "Churn model: " not in plain
    line = next(x for x in out.splitlines() if x.startswith("- Churn model: churn probability"))
    assert "within 90 days" in line and "base rate" in line
    assert out.replace(line + "\n", "") == plain
    code, ru, _ = run(capsys, "assess", "--account", "acc-037", "--lang", "ru",
                      "--model-file", model_file)
    assert "- Модель оттока: вероятность оттока за 90 дней" in ru
    code, out, _ = run(capsys, "assess", "--account", "acc-037", "--format", "json",
                       "--model-file", model_file)
    state = json.loads(out)
    assert state["model_forecast"]["model"] in ("calibrated", "learned")
    code, out, _ = run(capsys, "assess", "--account", "acc-037", "--format", "json")
    assert "model_forecast" not in json.loads(out)


def test_sweep_stores_the_model_and_reports_it(model_file, tmp_path, capsys):
    from tools.portfolio.readers import sample_portfolio_path

    out = tmp_path / "reports"
    code, _, err = run(capsys, "sweep", sample_portfolio_path(), "--no-reports", "--workers",
                       "1", "--out", out, "--model-file", model_file)
    assert code == 0, err
    report = json.loads((out / "portfolio.json").read_text("utf-8"))
    forecast = report["model_forecast"]
    assert forecast["accounts"] == report["accounts"] and forecast["left_out_accounts"] == 0
    assert 0 < forecast["expected_churned_mrr"] < report["mrr"]
    assert all("churn_probability" in r for r in report["renewals"])
    assert "- Churn model: expected churned MRR" in (out / "portfolio.md").read_text("utf-8")


def test_tools_use_csm_model_file(model_file, monkeypatch, tmp_path):
    monkeypatch.setenv("CSM_AS_OF", "2026-11-20")
    assert "model_forecast" not in READ_TOOLS["score_account"]("acc-037")
    monkeypatch.setenv("CSM_MODEL_FILE", str(model_file))
    scored = READ_TOOLS["score_account"]("acc-037")
    assert 0 < scored["model_forecast"]["churn_probability"] < 1
    listed = READ_TOOLS["list_accounts"](limit=3)
    assert all("churn_probability" in a for a in listed["accounts"]) and listed["churn_model"]
    (tmp_path / "bad.json").write_text("{}", "utf-8")
    monkeypatch.setenv("CSM_MODEL_FILE", str(tmp_path / "bad.json"))
    with pytest.raises(ToolError, match="not a csm churn model"):
        READ_TOOLS["score_account"]("acc-037")
