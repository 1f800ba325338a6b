"""The report prose under real faults, against the loopback fake OpenAI server: the deadlines of
an account and of a run, max_tokens, Retry-After, no retry after 401/403, the circuit breaker,
calls in flight across a sweep's workers, and every fallback shown (stderr, the report, the
portfolio report, --strict). All traffic goes to 127.0.0.1."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from agent.interfaces.cli import main
from tests.fake_openai import (
    SUMMARY,
    Babble,
    Cut,
    FakeOpenAI,
    Reply,
    Sleep,
    Status,
    always,
    flaky,
)
from tools.portfolio.readers import sample_portfolio_path

AS_OF = "2026-11-20"
NOTE = "This summary is the deterministic one: "
BREAKER = "no more model calls in this run"


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy, no tracing, no real endpoint, no budget from the caller's environment."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                 "all_proxy", "LANGSMITH_TRACING", "LANGCHAIN_TRACING_V2", "OPENAI_API_BASE",
                 "CSM_MODEL_DEADLINE", "CSM_MODEL_RUN_DEADLINE", "CSM_MODEL_CONCURRENCY",
                 "CSM_MODEL_MAX_FAILURES", "CSM_MODEL_MAX_TOKENS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture(scope="module")
def warm() -> None:
    """The knowledge index built before a test times a run (the first run builds it)."""
    main(["assess", "--account", "acc-037", "--as-of", AS_OF, "--model", "none"])


def use(server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, timeout: float = 30) -> None:
    """Point CSM_MODEL at the fake server, with a request timeout of `timeout` seconds."""
    monkeypatch.setenv("CSM_MODEL", "openai:fake-model")
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "test")
    monkeypatch.setenv("CSM_MODEL_TIMEOUT", str(timeout))


def small_portfolio(tmp_path: Path, count: int) -> Path:
    """The first `count` accounts of the bundled sample, as a portfolio file."""
    sample = json.loads(sample_portfolio_path().read_text("utf-8"))
    path = tmp_path / f"first-{count}.json"
    path.write_text(json.dumps({**sample, "accounts": sample["accounts"][:count]}), "utf-8")
    return path


def assess(*extra: str) -> tuple[int, float]:
    """`csm assess --account acc-037` with `extra` options: the exit code and the seconds."""
    started = time.monotonic()
    code = main(["assess", "--account", "acc-037", "--as-of", AS_OF, *extra])
    return code, time.monotonic() - started


def sweep(tmp_path: Path, portfolio: Path, *extra: str) -> int:
    """`csm sweep PORTFOLIO --with-model` into tmp_path/out and tmp_path/s.db."""
    return main(["sweep", str(portfolio), "--with-model", "--as-of", AS_OF, "--db",
                 str(tmp_path / "s.db"), "--out", str(tmp_path / "out"), "--workers", "1",
                 *extra])


def notes(text: str) -> list[str]:
    """The fallback notes of reports: the reason of each."""
    return re.findall(re.escape(NOTE) + r"([^.\n]+)\.", text)


# item 1: budgets -------------------------------------------------------------------------------


def test_a_hanging_server_is_ended_by_the_account_deadline(warm, monkeypatch, capsys):
    with FakeOpenAI(always(Sleep(3600)), lifetime=120) as server:
        use(server, monkeypatch, timeout=60)
        code, seconds = assess("--model-deadline", "2")
        strict, _ = assess("--model-deadline", "2", "--strict")
    out, err = capsys.readouterr()
    # without the deadline one summary alone would wait 3 x 60 s
    assert seconds < 60 and code == 0 and strict == 3
    assert len(server.requests) <= 4  # two calls in flight (the default), per run
    assert notes(out) == ["the model's time per account ran out"] * 10
    assert "acc-037: 5 of 5 summaries are the deterministic ones (the model's time per " \
           "account ran out)" in err


def test_a_sweep_stops_calling_the_model_at_its_run_deadline(tmp_path, monkeypatch, capsys):
    portfolio = small_portfolio(tmp_path, 5)
    with FakeOpenAI(always(Reply(SUMMARY, delay=1.0)), lifetime=120) as server:
        use(server, monkeypatch)
        code = sweep(tmp_path, portfolio, "--model-run-deadline", "5")
    err = capsys.readouterr().err
    assert code == 0
    # the run's clock starts before its first call: no call starts 5 s after that one
    assert server.times and max(server.times) < min(server.times) + 5
    summaries = json.loads((tmp_path / "out" / "portfolio.json").read_text("utf-8"))[
        "model_summaries"]
    assert 0 < summaries["reports_fell_back"] < 25  # the model wrote some before the deadline
    assert summaries["reasons"]["run_deadline"] >= 5
    last = (tmp_path / "out" / "acc-005.en.md").read_text("utf-8")
    assert notes(last) == ["the model's time for this run ran out"] * 5
    portfolio_md = (tmp_path / "out" / "portfolio.md").read_text("utf-8")
    assert "the model's time for this run ran out (run_deadline)" in portfolio_md
    assert "acc-005: 5 of 5 summaries are the deterministic ones" in err


@pytest.mark.parametrize("tokens", [None, "64"])
def test_every_call_carries_max_tokens_and_a_model_that_never_stops_falls_back(
    tokens, warm, monkeypatch, capsys
):
    if tokens:
        monkeypatch.setenv("CSM_MODEL_MAX_TOKENS", tokens)
    with FakeOpenAI(always(Babble(rate=2000)), lifetime=120) as server:
        use(server, monkeypatch)
        code, seconds = assess()
    out, err = capsys.readouterr()
    limit = int(tokens or 512)
    sent = [r.get("max_completion_tokens") or r.get("max_tokens") for r in server.requests]
    assert sent and set(sent) == {limit}
    assert code == 0 and seconds < 30
    assert notes(out)[0] == "the model's answer ran past its token limit"
    assert "ran past its token limit" in err
    assert len(server.requests) <= 5  # a length cut is not retried


@pytest.mark.parametrize(("status", "words"), [
    (401, "the model server rejected the API key"),
    (403, "the model server refused access to the model"),
])
def test_a_rejected_key_or_model_is_not_retried_and_said_once(
    status, words, tmp_path, monkeypatch, capsys
):
    portfolio = small_portfolio(tmp_path, 3)
    with FakeOpenAI(always(Status(status, "no")), lifetime=120) as server:
        use(server, monkeypatch)
        code = sweep(tmp_path, portfolio)
        requests = len(server.requests)
    err = capsys.readouterr().err
    assert code == 0
    assert requests <= 2  # the calls already in flight when the first answer came back
    assert err.count(BREAKER) == 1 and f"csm: {words} (" in err
    reports = "".join(p.read_text("utf-8") for p in (tmp_path / "out").glob("acc-*.md"))
    assert len(notes(reports)) == 15  # 3 accounts x 5 reports, every one says why


def test_retry_after_holds_every_call_of_the_run(monkeypatch, capsys):
    script = [Status(429, "slow down", retry_after="1.5")] + [Reply(SUMMARY)] * 5
    with FakeOpenAI(script, lifetime=120) as server:
        use(server, monkeypatch)
        code, _ = assess("--model-concurrency", "1")
    out = capsys.readouterr().out
    assert code == 0 and notes(out) == []  # the call that was told to wait got its answer
    assert len(server.requests) == 6
    # no call of the run, the waiting one or the four others, came back before 1.5 s
    first = server.times[0]
    assert min(t - first for t in server.times[1:]) >= 1.5


def test_a_retry_after_past_the_deadline_falls_back_without_waiting(warm, monkeypatch, capsys):
    with FakeOpenAI(always(Status(429, "come back later", retry_after="40")), lifetime=120) as srv:
        use(srv, monkeypatch)
        code, seconds = assess("--model-deadline", "30")
    out, err = capsys.readouterr()
    assert code == 0 and seconds < 25  # not the 40 s asked, nor the 30 s deadline
    assert len(srv.requests) <= 2  # the calls in flight before the first answer
    assert set(notes(out)) == {"the model server was rate-limiting"}
    assert "the model server was rate-limiting" in err


def test_the_breaker_opens_after_repeated_failures_and_says_so_once(
    tmp_path, monkeypatch, capsys
):
    portfolio = small_portfolio(tmp_path, 4)
    with FakeOpenAI(always(Status(500, "boom")), lifetime=120) as server:
        use(server, monkeypatch)
        code = sweep(tmp_path, portfolio, "--model-concurrency", "1")
    err = capsys.readouterr().err
    assert code == 0
    # three calls fail in a row (three attempts each, the first account's other two calls
    # trying meanwhile); then no further request
    assert 9 <= len(server.requests) <= 15
    assert err.count(BREAKER) == 1
    assert "csm: 3 model calls failed in a row (last: " in err
    last = (tmp_path / "out" / "acc-004.en.md").read_text("utf-8")
    assert notes(last) == ["the model was switched off after repeated failures"] * 5


def test_a_cut_connection_is_retried_and_said_when_it_persists(monkeypatch, capsys):
    with FakeOpenAI([Cut(SUMMARY, chunked=True)] + [Reply(SUMMARY)] * 5, lifetime=60) as server:
        use(server, monkeypatch)
        code, _ = assess("--model-concurrency", "1")
        assert len(server.requests) == 6
    assert code == 0 and notes(capsys.readouterr().out) == []
    with FakeOpenAI(always(Cut(SUMMARY, chunked=True)), lifetime=60) as server:
        use(server, monkeypatch)
        code, _ = assess("--strict")
    out, err = capsys.readouterr()
    assert code == 3
    assert "the model server could not be reached" in notes(out)
    assert "the model server could not be reached" in err


def test_the_calls_in_flight_are_limited_across_the_workers(tmp_path, monkeypatch, capsys):
    portfolio = small_portfolio(tmp_path, 6)
    peaks = {}
    for limit in (3, 10):
        with FakeOpenAI(always(Reply(SUMMARY, delay=0.5)), lifetime=300) as server:
            use(server, monkeypatch)
            code = main(["sweep", str(portfolio), "--with-model", "--as-of", AS_OF, "--db",
                         str(tmp_path / f"{limit}.db"), "--no-reports", "--workers", "2",
                         "--model-concurrency", str(limit)])
            assert code == 0 and len(server.requests) == 30
            peaks[limit] = server.peak
    capsys.readouterr()
    assert peaks[3] == 3
    # one worker holds one account (five calls) at a time: more than five is both at once
    assert peaks[10] > 5


# item 2: loud degradation ----------------------------------------------------------------------


def test_every_fallback_is_counted_alike_on_stderr_in_the_reports_and_portfolio(
    tmp_path, monkeypatch, capsys
):
    portfolio = small_portfolio(tmp_path, 12)
    with FakeOpenAI(flaky(0.3, seed=11), lifetime=300) as server:
        use(server, monkeypatch)
        code = sweep(tmp_path, portfolio, "--model-concurrency", "1")
        requests = len(server.requests)
    err = capsys.readouterr().err
    assert code == 0 and requests > 60  # 60 summaries, the 500s retried
    out = tmp_path / "out"
    fell = {p.name.split(".")[0]: len(notes(p.read_text("utf-8"))) for p in out.glob("acc-*.md")}
    total = sum(fell.values())
    report = json.loads((out / "portfolio.json").read_text("utf-8"))["model_summaries"]
    assert (report["reports_asked"], report["reports_fell_back"]) == (60, total)
    assert {a["id"]: a["reports"] for a in report["accounts"]} == {k: v for k, v in fell.items()
                                                                    if v}
    portfolio_md = (out / "portfolio.md").read_text("utf-8")
    assert f"## Model summaries ({total} of 60 fell back)" in portfolio_md
    for account, count in fell.items():
        if count:
            assert f"csm: {account}: {count} of 5 summaries are the deterministic ones" in err
    if total:
        assert f"csm: {total} of 60 model summaries fell back" in err
    else:
        assert "fell back" not in err


def test_strict_fails_a_sweep_with_a_fallback_and_passes_one_without(
    tmp_path, monkeypatch, capsys
):
    portfolio = small_portfolio(tmp_path, 2)
    with FakeOpenAI(always(Reply(SUMMARY)), lifetime=60) as server:
        use(server, monkeypatch)
        assert sweep(tmp_path / "ok", portfolio, "--strict") == 0
    with FakeOpenAI(always(Status(401, "bad key")), lifetime=60) as server:
        use(server, monkeypatch)
        assert sweep(tmp_path / "bad", portfolio, "--strict") == 3
    err = capsys.readouterr().err
    assert "csm: 10 of 10 model summaries fell back to the deterministic ones, in 2 " \
           "account(s)" in err
    portfolio_md = (tmp_path / "bad" / "out" / "portfolio.md").read_text("utf-8")
    assert "## Model summaries (10 of 10 fell back)" in portfolio_md
    assert "Accounts: acc-001 (5), acc-002 (5)" in portfolio_md


def test_a_rerun_with_a_working_model_redoes_what_fell_back(tmp_path, monkeypatch, capsys):
    portfolio = small_portfolio(tmp_path, 3)
    with FakeOpenAI(always(Status(401, "bad key")), lifetime=60) as server:
        port = int(server.base_url.rsplit(":", 1)[1].split("/")[0])
        use(server, monkeypatch)
        assert sweep(tmp_path, portfolio) == 0
    with FakeOpenAI(always(Reply(SUMMARY)), lifetime=60, port=port) as server:
        use(server, monkeypatch)
        assert sweep(tmp_path, portfolio) == 0
        assert len(server.requests) == 15  # the model is the same: only the fallbacks redone
        assert sweep(tmp_path, portfolio) == 0
        assert len(server.requests) == 15  # nothing fell back: nothing to redo
    err = capsys.readouterr().err
    assert "redid the 3 account(s) whose summaries had fallen back" in err
    assert "already ran on these inputs; nothing to do" in err
    reports = "".join(p.read_text("utf-8") for p in (tmp_path / "out").glob("acc-*.md"))
    assert notes(reports) == []
    # another model is another input: the sweep runs again
    with FakeOpenAI(always(Reply(SUMMARY)), lifetime=60) as server:
        use(server, monkeypatch)
        monkeypatch.setenv("CSM_MODEL", "openai:another-model")
        assert sweep(tmp_path, portfolio) == 0
        assert len(server.requests) == 15
    assert "nothing to do" not in capsys.readouterr().err
