"""The model's HTTP path against a local fake OpenAI server: retries, auth errors, timeouts,
and the bounded tool loop. All traffic goes to 127.0.0.1."""

from __future__ import annotations

import io
import time
from typing import Any

import openai
import pytest
from langchain_core.messages import AIMessage
from langchain_openai import ChatOpenAI

from agent.chat.agent import chat_model
from agent.interfaces.commands.chat import run_chat
from tests.fake_openai import FakeOpenAI, Reply, Sleep, Status
from tests.scripted_model import ScriptedChatModel

AUTH_SENTENCE = "csm: the model server rejected the API key; check OPENAI_API_KEY."


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy, no tracing, no real endpoint: only the fake server is reachable."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                 "all_proxy", "LANGSMITH_TRACING", "LANGCHAIN_TRACING_V2", "OPENAI_API_BASE",
                 "OPENAI_BASE_URL", "CSM_CHAT_MAX_STEPS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("CSM_AS_OF", "2026-11-20")


def client(server: FakeOpenAI, timeout: float = 5.0) -> ChatOpenAI:
    """The model as chat_model() builds it, pointed at the fake server."""
    return ChatOpenAI(model="gpt-4.1-mini", base_url=server.base_url, api_key="test",
                      timeout=timeout, max_retries=2)


@pytest.mark.parametrize("code", [429, 500])
def test_transient_errors_are_retried(code: int):
    with FakeOpenAI([Status(code), Reply("recovered")]) as server:
        answer = client(server).invoke("hello")
    assert answer.content == "recovered"
    assert len(server.requests) == 2


def test_retries_are_bounded():
    with FakeOpenAI([Status(500)] * 5) as server:
        with pytest.raises(openai.InternalServerError):
            client(server).invoke("hello")
    assert len(server.requests) == 3  # one call plus max_retries=2


def test_a_rejected_key_is_not_retried_and_chat_says_so_in_one_sentence(tmp_path):
    with FakeOpenAI([Status(401, "Incorrect API key provided")] * 3) as server:
        with pytest.raises(openai.AuthenticationError):
            client(server).invoke("hello")
        assert len(server.requests) == 1

        out = io.StringIO()
        run_chat("auth", model=client(server), input=io.StringIO("hi\n/exit\n"), output=out,
                 db=tmp_path / "chat.sqlite3")
    text = out.getvalue()
    assert AUTH_SENTENCE in text and "Traceback" not in text
    assert [line for line in text.splitlines() if line.startswith("csm:")] == [AUTH_SENTENCE]
    assert len(server.requests) == 2


def test_a_hanging_server_ends_in_a_timeout_within_a_bounded_time(tmp_path):
    with FakeOpenAI([Sleep(10)] * 3) as server:
        started = time.monotonic()
        with pytest.raises(openai.APITimeoutError):
            client(server, timeout=0.3).invoke("hello")
        elapsed = time.monotonic() - started
    assert elapsed < 8  # 3 attempts of 0.3 s plus at most ~1.5 s of backoff
    assert len(server.requests) == 3


def test_the_timeout_becomes_one_sentence_in_chat(tmp_path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CSM_MODEL_TIMEOUT", "0.3")
    with FakeOpenAI([Sleep(10)] * 3 + [Reply("fine now")]) as server:
        out = io.StringIO()
        run_chat("slow", model=client(server, timeout=0.3), input=io.StringIO("a\nb\n"),
                 output=out, db=tmp_path / "chat.sqlite3")
    text = out.getvalue()
    assert "csm: the model did not answer within 0.3 s (after retries)" in text
    assert "csm> fine now" in text


def test_chat_model_builds_the_client_from_the_environment(monkeypatch: pytest.MonkeyPatch,
                                                           tmp_path):
    with FakeOpenAI([Status(429), Reply("Hello from the fake server.")]) as server:
        monkeypatch.setenv("CSM_MODEL", "openai:gpt-4.1-mini")
        monkeypatch.setenv("OPENAI_API_KEY", "test")
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("CSM_MODEL_TIMEOUT", "5")
        model = chat_model()
        assert isinstance(model, ChatOpenAI)
        assert model.max_retries == 2 and model.request_timeout == 5.0
        out = io.StringIO()
        run_chat("env", model=model, input=io.StringIO("hi\n"), output=out,
                 db=tmp_path / "chat.sqlite3")
    assert "csm> Hello from the fake server." in out.getvalue()  # streamed over SSE
    assert server.requests[-1]["stream"] is True
    assert len(server.requests) == 2


def test_a_bad_model_name_is_one_sentence(monkeypatch: pytest.MonkeyPatch):
    with pytest.raises(ValueError, match="cannot use the model 'nonsense:x'"):
        chat_model("nonsense:x")


def test_the_tool_loop_is_bounded(tmp_path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CSM_CHAT_MAX_STEPS", "6")

    def asks_for_a_tool(i: int) -> AIMessage:
        return AIMessage(content="", tool_calls=[{"name": "score_account", "type": "tool_call",
                                                  "args": {"account_id": "acc-037"},
                                                  "id": f"call-{i}"}])

    script: list[Any] = [asks_for_a_tool(i) for i in range(50)]
    model = ScriptedChatModel(script=script, calls=[])
    out = io.StringIO()
    run_chat("loop", model=model, input=io.StringIO("loop forever\n"), output=out,
             db=tmp_path / "chat.sqlite3")
    text = out.getvalue()
    assert "csm: stopped after 6 steps without a final answer" in text
    assert "Traceback" not in text
    assert len(model.calls) <= 3  # model, tools, model, tools, model, tools: 6 steps

    model.script[:] = ["A normal answer."]
    out = io.StringIO()
    run_chat("loop", model=model, input=io.StringIO("and now?\n"), output=out,
             db=tmp_path / "chat.sqlite3")
    assert "csm> A normal answer." in out.getvalue()  # the thread is still usable
