"""The agent evals (evals/agent): the task file, the scripted model's full run (what CI runs), the
grader failing faulty answers, and a run over HTTP against the loopback fake OpenAI server."""

from __future__ import annotations

import json
from typing import Any

import pytest

from evals.agent.grade import answer_language, run_call
from evals.agent.run import evaluate, main
from evals.agent.scripted import ScriptedAgentModel
from evals.agent.tasks import load_tasks, values_at
from tests.fake_openai import FakeOpenAI, Reply


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                 "all_proxy", "LANGSMITH_TRACING", "LANGCHAIN_TRACING_V2", "OPENAI_API_BASE",
                 "OPENAI_BASE_URL", "CSM_MODEL", "CSM_CHAT_MAX_STEPS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def test_the_task_file():
    tasks = load_tasks()
    assert len(tasks) >= 30 and len({t.id for t in tasks}) == len(tasks)
    by_lang = {lang: [t for t in tasks if t.lang == lang] for lang in ("en", "ru")}
    assert len(by_lang["en"]) >= 15 and len(by_lang["ru"]) >= 15
    for task in by_lang["ru"]:
        assert answer_language(task.question) == "ru", task.id
    assert {c.name for t in tasks for c in t.calls} == {
        "score_account", "list_accounts", "assess_account", "search_knowledge",
        "account_history"}


def test_every_expected_figure_exists(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CSM_AS_OF", "2026-11-20")
    for task in load_tasks():
        if task.calls[0].name in ("assess_account", "search_knowledge"):
            continue  # slow or index-bound; the full run below covers them
        results = [run_call(c) for c in task.calls]
        for ref in [*task.expect.numbers, *task.expect.ids_from]:
            assert values_at(results[ref.call], ref.path), (task.id, ref.path)
        if task.expect.no_numbers:
            assert isinstance(results[0], str) and "no account" in results[0]


def test_the_scripted_model_passes_every_task_and_report(capsys: pytest.CaptureFixture[str]):
    assert main([]) == 0  # no model configured: the scripted one
    out = capsys.readouterr().out
    assert out.startswith("Agent evals, model scripted: 38 chat tasks, 20 report summaries")
    lines = out.splitlines()
    assert lines[2].startswith("| suite | tasks | tool calls | answers right | grounding "
                               "violations | language | latency s")
    rows = {line.split(" | ")[0].lstrip("| "): line.split(" | ") for line in lines[4:8]}
    assert rows["chat en"][1:6] == ["19", "20/20 (100%)", "19/19 (100%)", "0", "19/19 (100%)"]
    assert rows["chat ru"][1:6] == ["19", "20/20 (100%)", "19/19 (100%)", "0", "19/19 (100%)"]
    assert rows["report prose"][1:6] == ["20", "—", "20/20 (100%)", "0", "20/20 (100%)"]
    assert "Not right" not in out


def _faulty(task_id: str, **changes: Any) -> Any:
    """A task whose script (what the scripted model does) is changed; it is graded as written."""
    task = next(t for t in load_tasks() if t.id == task_id)
    return task.model_copy(update=changes)


def test_the_grader_fails_faulty_answers():
    from evals.agent.tasks import Call

    tasks = [
        # the wrong account: the call, the id and the figures all miss
        _faulty("score-037-en", calls=[Call(name="score_account",
                                            args={"account_id": "acc-007"})]),
        # an invented figure: withheld by the guard, so the figure is missing too
        _faulty("health-007-en", answer="The health score of acc-007 is 42.5."),
        # English to a Russian question
        _faulty("risk-001-ru", answer="acc-001 has a churn risk of {0:churn_risk.score} and a "
                                      "health score of {0:health.score}."),
        # a figure for an unknown account
        _faulty("unknown-en", answer="acc-999 has a churn risk of 12."),
        # a list answer that leaves accounts out
        _faulty("critical-en", answer="{0:total} accounts are critical, among them acc-037."),
    ]
    graded = [next(t for t in load_tasks() if t.id == faulty.id) for faulty in tasks]
    results, _ = evaluate(ScriptedAgentModel(tasks=tuple(tasks)), graded, prose=False)
    by_id = {r.id: r for r in results}
    wrong = by_id["score-037-en"]
    assert (wrong.matched_calls, wrong.right) == (0, False)
    assert wrong.problems == ["churn_risk.score missing: 84.21", "health.score missing: 16.88"]
    invented = by_id["health-007-en"]
    assert invented.violations == 1 and not invented.right
    assert invented.problems == ["ids missing: acc-007", "health.score missing: 15.11"]
    english = by_id["risk-001-ru"]
    assert english.right and not english.language_ok  # the content is right, the language not
    unknown = by_id["unknown-en"]
    assert unknown.violations == 1 and not unknown.right
    partial = by_id["critical-en"]
    assert partial.problems == ["ids missing: acc-007, acc-014"]


def test_a_real_model_over_http_is_graded_with_its_tokens(capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch):
    steps = [Reply("", (("score_account", '{"account_id": "acc-037"}'),)),
             Reply("acc-037 has a churn risk of 84.21 and a health score of 16.88."),
             Reply("", (("score_account", '{"account_id": "acc-037"}'),)),
             Reply("У acc-037 риск оттока 42,5 и индекс здоровья 16,88.")]
    with FakeOpenAI(steps, lifetime=300) as server:  # outlives a first index build
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test")
        code = main(["--model", "openai:gpt-4.1-mini", "--task", "score-037-en", "--task",
                     "score-037-ru", "--no-prose", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and report["model"] == "openai:gpt-4.1-mini"
    en, ru = report["tasks"]
    assert (en["right"], en["matched_calls"], en["tokens_in"], en["tokens_out"]) == (
        True, 1, 2, 2)  # the fake server reports 1 + 1 tokens per request
    assert (ru["right"], ru["violations"], ru["language_ok"]) == (False, 1, True)
    assert ru["problems"] == ["ids missing: acc-037", "churn_risk.score missing: 84.21",
                              "health.score missing: 16.88"]  # the whole sentence withheld
    assert [r["suite"] for r in report["rows"]] == ["chat en", "chat ru", "chat, all"]
    assert report["rows"][2]["tokens (in / out)"] == "4 / 4"
    assert len(server.requests) == 4 and all(not r.get("stream") for r in server.requests)


def test_bad_arguments_are_one_sentence(capsys: pytest.CaptureFixture[str]):
    assert main(["--task", "nope"]) == 2
    assert capsys.readouterr().err == ("python -m evals.agent: error: unknown task nope; the "
                                       "ids are in evals/agent/tasks.yaml.\n")
    assert main(["--model", "nonsense:x", "--no-prose"]) == 2
    assert "cannot use the model 'nonsense:x'" in capsys.readouterr().err


def test_report_prose_over_http_counts_tokens_and_reads_the_summaries(
    monkeypatch: pytest.MonkeyPatch
):
    from langchain_openai import ChatOpenAI

    from evals.agent.run import prose_row, run_prose, sample_workspace

    kept = json.dumps({"summary": "Churn risk is 84.21 (critical)."})
    invented = json.dumps({"summary": "Churn risk is 42.5."})
    with FakeOpenAI([Reply(kept)] * 4 + [Reply(invented)], lifetime=300) as server:
        model = ChatOpenAI(model="gpt-4.1-mini", base_url=server.base_url, api_key="test",
                           timeout=5, max_retries=0)
        with sample_workspace():
            results = run_prose(model, [("acc-037", "en")])
    assert len(server.requests) == 5
    assert [r.accepted for r in results].count(True) == 4
    assert sum(r.rejected for r in results) == 1
    assert sorted(results[0].summaries) == sorted(["Churn risk is 84.21 (critical)."] * 4
                                                  + ["Churn risk is 42.5."])
    row = prose_row(results)
    assert (row["answers right"], row["grounding violations"], row["language"]) == (
        "4/5 (80%)", "1", "5/5 (100%)")
    assert row["tokens (in / out)"] == "5 / 5"  # 1 + 1 per request, as the server reports
