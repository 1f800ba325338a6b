"""`langgraph dev` as LangGraph Studio sees it: one real server for the module (langgraph-cli
in memory, offline, no model), driven over HTTP with langgraph-sdk."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_sync_client

from agent.assessment.context import AssessmentContext
from agent.assessment.graph import STEPS, build_graph
from tests.procs import free_port

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_AS_OF = date(2026, 11, 20)  # the bundled sample portfolio's own as_of
PUBLIC_CONTEXT = {"as_of", "lang", "playbook", "portfolio", "model", "max_model_calls"}


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, knowledge_index_dir: Path
) -> Iterator[tuple[str, Path]]:
    """`langgraph dev --config langgraph.json` from a scratch directory: no CSM_* settings but
    the session's knowledge index, no model, no tracing; its own data directory. Yields its URL
    and that data directory."""
    work = tmp_path_factory.mktemp("langgraph-dev")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CSM_", "OPENAI_", "LANGSMITH_", "LANGCHAIN_"))}
    env.update(CSM_DATA_DIR=str(work / "data"), CSM_KNOWLEDGE_DIR=str(knowledge_index_dir),
               LANGSMITH_TRACING="false",
               LANGGRAPH_CLI_NO_ANALYTICS="1")
    port = free_port()
    log = work / "server.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "langgraph_cli", "dev", "--no-browser", "--no-reload",
             "--port", str(port), "--config", str(ROOT / "langgraph.json")],
            cwd=work, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                pytest.fail(f"langgraph dev exited: {log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/ok", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"langgraph dev did not start: {log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield url, work / "data"
    finally:
        _stop(process)


@pytest.fixture(scope="module")
def client(server: tuple[str, Path]) -> Any:
    return get_sync_client(url=server[0], timeout=120)


@pytest.fixture
def local(server: tuple[str, Path], monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run the graph in this process, on the knowledge index the server built (not again)."""
    monkeypatch.setenv("CSM_DATA_DIR", str(server[1]))

    def run(account_id: str, **context: Any) -> dict[str, Any]:
        return build_graph(checkpointer=None).invoke(
            {"account_id": account_id}, context=AssessmentContext(model="none", **context)
        )

    return run


def _assistant(client: Any, graph_id: str) -> str:
    return client.assistants.search(graph_id=graph_id)[0]["assistant_id"]


def test_assessment_has_public_input_output_and_context_schemas(client):
    schemas = client.assistants.get_schemas(_assistant(client, "assessment"))
    assert set(schemas["input_schema"]["properties"]) == {"account_id", "account"}
    assert {"score", "reports", "forecast", "citations", "steps"} <= set(
        schemas["output_schema"]["properties"]
    )
    context = schemas["context_schema"]["properties"]
    assert set(context) == PUBLIC_CONTEXT
    assert context["lang"]["enum"] == ["en", "ru"]
    assert "portfolio's own as_of" in context["as_of"]["description"]


def test_assessment_streams_the_steps_in_order_as_of_the_portfolio_day(client, local):
    thread = client.threads.create()["thread_id"]
    parts = list(client.runs.stream(thread, "assessment", input={"account_id": "acc-037"},
                                    stream_mode="updates"))
    assert [p.event for p in parts if p.event == "error"] == []
    assert [next(iter(p.data)) for p in parts if p.event == "updates"] == list(STEPS)

    served = client.threads.get_state(thread)["values"]
    # the same run in this process with the sample's as_of given explicitly (csm assess's rule)
    expected = local("acc-037", as_of=SAMPLE_AS_OF)
    assert served["reports"] == expected["reports"].model_dump(mode="json")
    assert "renewal on 2026-12-05, in 15 days (window: 180 days)" in served["reports"]["dashboard"]


def test_context_sets_the_language_and_day(client, local):
    thread = client.threads.create()["thread_id"]
    result = client.runs.wait(thread, "assessment", input={"account_id": "acc-001"},
                              context={"lang": "ru", "as_of": "2026-12-01"})
    assert result["reports"]["lang"] == "ru"
    assert "ОЦЕНКА ЗДОРОВЬЯ:" in result["reports"]["dashboard"]
    expected = local("acc-001", as_of=date(2026, 12, 1), lang="ru")
    assert result["reports"] == expected["reports"].model_dump(mode="json")


def test_unknown_account_id_is_a_clear_error(client):
    thread = client.threads.create()["thread_id"]
    parts = list(client.runs.stream(thread, "assessment", input={"account_id": "nope"},
                                    stream_mode="updates"))
    errors = [p.data for p in parts if p.event == "error"]
    assert len(errors) == 1 and errors[0]["error"] == "AssessmentError"
    assert errors[0]["message"].startswith(
        "no account with id 'nope' in the bundled sample portfolio; use one of its ids"
    )
    assert "Traceback" not in errors[0]["message"]


def test_chat_without_a_model_answers_with_the_sentence_and_the_thread_goes_on(client):
    thread = client.threads.create()["thread_id"]
    for question in ("How is acc-037 doing?", "And acc-001?"):
        client.runs.wait(thread, "chat", input={"messages": [{"role": "user",
                                                              "content": question}]})
    state = client.threads.get_state(thread)
    answers = [m for m in state["values"]["messages"] if m["type"] == "ai"]
    assert len(answers) == 2
    assert all(a["content"].startswith("the chat graph needs a model: set CSM_MODEL=")
               for a in answers)
    assert state["next"] == []
    assert [r["status"] for r in client.runs.list(thread)] == ["success", "success"]
