"""`csm` end to end: exit codes, JSON shape, CSV, table, errors as one sentence."""

import json

import pytest

from agent.interfaces.cli import main
from tools.playbook import default_playbook_path

ACCOUNT_KEYS = {"id", "name", "health", "churn_risk", "signals", "opportunities", "not_evaluated"}


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_score_sample_json_shape(capsys):
    code, out, err = run(capsys, "score", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert set(data) == {"as_of", "accounts", "errors", "warnings"}
    assert data["errors"] == [] and data["warnings"] == []
    assert len(data["accounts"]) >= 30
    first = data["accounts"][0]
    assert ACCOUNT_KEYS <= set(first)
    assert {"score", "color", "coverage", "components"} <= set(first["health"])
    assert {"score", "tier", "coverage", "factors"} <= set(first["churn_risk"])
    for account in data["accounts"]:
        for signal in account["signals"]:
            assert {"id", "severity", "action", "evidence"} <= set(signal)
        for opp in account["opportunities"]:
            assert {"id", "offer", "price", "probability", "expected_value", "annual_value"} <= set(
                opp
            )


def test_score_as_of_is_reproducible(capsys):
    first = run(capsys, "score", "--format", "json", "--as-of", "2026-11-20")[1]
    second = run(capsys, "score", "--format", "json", "--as-of", "2026-11-20")[1]
    assert first == second and json.loads(first)["as_of"] == "2026-11-20"


def test_score_table_and_csv(capsys):
    code, out, _ = run(capsys, "score")
    assert code == 0 and "Churn risk" in out and "riskiest first" in out
    code, out, _ = run(capsys, "score", "--format", "csv")
    lines = out.strip().splitlines()
    assert code == 0 and lines[0].startswith("id,name,health_score")


def test_partial_rows_exit_2_and_are_listed(tmp_path, capsys):
    path = tmp_path / "p.csv"
    path.write_text("id,name,mrr,csat\na,A,345000,\nb,B,100,15\n", encoding="utf-8")
    code, out, err = run(capsys, "score", str(path), "--format", "json")
    data = json.loads(out)
    assert code == 2
    assert [a["id"] for a in data["accounts"]] == ["a"]
    assert data["accounts"][0]["churn_risk"] == {
        **data["accounts"][0]["churn_risk"],
        "score": 31.0,
        "tier": "medium",
        "coverage": 0.25,
    }
    assert data["errors"][0]["row"] == 3 and data["errors"][0]["field"] == "csat"
    assert "row 3 (id b): csat" in err and "Traceback" not in err


def test_nothing_readable_exits_1(tmp_path, capsys):
    path = tmp_path / "p.csv"
    path.write_text("id,name,csat\n,A,\n", encoding="utf-8")
    code, _, err = run(capsys, "score", str(path))
    assert code == 1 and "no account could be read" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["score", "nope.json"], "file not found"),
        (["score", "--as-of", "2026-02-30"], "not a date"),
        (["score", "--playbook", "nope.yaml"], "file not found"),
    ],
)
def test_user_errors_are_one_sentence_exit_1(capsys, argv, message):
    code, _, err = run(capsys, *argv)
    assert code == 1 and message in err and "Traceback" not in err


def test_broken_playbook_names_the_key(tmp_path, capsys):
    text = default_playbook_path().read_text(encoding="utf-8")
    broken = tmp_path / "book.yaml"
    broken.write_text(text.replace("probability: 0.65", "probability: 1.65"), encoding="utf-8")
    code, _, err = run(capsys, "score", "--playbook", str(broken))
    assert code == 1 and "opportunities.technical_seo.probability" in err


def test_custom_playbook_changes_the_numbers(tmp_path, capsys):
    text = default_playbook_path().read_text(encoding="utf-8")
    custom = tmp_path / "book.yaml"
    custom.write_text(text.replace("ok: 500000", "ok: 690000"), encoding="utf-8")
    portfolio = tmp_path / "p.json"
    portfolio.write_text('[{"id": "a", "name": "A", "mrr": 345000}]', encoding="utf-8")
    _, out, _ = run(capsys, "score", str(portfolio), "--format", "json", "--playbook", str(custom))
    assert json.loads(out)["accounts"][0]["churn_risk"]["score"] == 50.0


def test_sample_command_writes_valid_portfolio(tmp_path, capsys):
    out_file = tmp_path / "gen.jsonl"
    code, _, err = run(
        capsys,
        "sample",
        "--accounts",
        "50",
        "--seed",
        "3",
        "--out",
        str(out_file),
        "--as-of",
        "2026-11-20",
    )
    assert code == 0 and "wrote 50 accounts" in err
    code, out, _ = run(capsys, "score", str(out_file), "--format", "csv")
    assert code == 0 and len(out.strip().splitlines()) == 51


def test_help_teaches(capsys):
    code, out, _ = run(capsys, "score", "--help")
    assert code == 0
    assert "Exit codes" in out and "--playbook" in out and "Examples" in out


def test_kb_search_and_index(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CSM_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CSM_KNOWLEDGE_DIR")  # its own index, in the data directory: first use
    code, out, err = run(
        capsys, "kb", "search", "what do we do when a client stops logging in?", "--format", "json"
    )
    results = json.loads(out)["results"]
    assert code == 0 and "first use" in err
    assert results[0]["topic"] == "early_warning" and results[0]["lang"] == "en"
    assert set(results[0]) == {"topic", "lang", "source", "heading", "text", "score"}
    code, out, _ = run(
        capsys,
        "kb",
        "search",
        "что делать, если клиент перестал заходить в кабинет?",
        "--format",
        "json",
        "--k",
        "1",
    )
    [hit] = json.loads(out)["results"]
    assert code == 0 and (hit["topic"], hit["lang"]) == ("early_warning", "ru")
    code, out, _ = run(capsys, "kb", "index")
    assert code == 0 and "nothing embedded" in out and "30 documents unchanged" in out
    code, out, _ = run(capsys, "kb", "search", "QBR agenda", "--topic", "qbr", "--lang", "ru")
    assert code == 0 and "qbr · ru" in out


def test_kb_bad_embedding_setting_is_one_sentence(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CSM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CSM_EMBEDDINGS", "word2vec")
    code, _, err = run(capsys, "kb", "search", "anything")
    assert code == 1 and "CSM_EMBEDDINGS='word2vec' is not known" in err


def test_an_unexpected_error_is_one_sentence(monkeypatch, capsys):
    import agent.interfaces.commands.score as score_command

    def broken(args):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(score_command, "run", broken)
    monkeypatch.delenv("CSM_DEBUG", raising=False)
    code, _, err = run(capsys, "score")
    assert code == 1 and "internal error in `csm score`: RuntimeError: disk on fire" in err
    assert "Traceback" not in err
