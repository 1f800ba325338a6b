"""The chat agent, offline: scripted model, real tools, SQLite memory per thread."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from agent.assessment.guard import read_data_blocks
from agent.chat.agent import NO_MODEL, build_chat_agent, sqlite_checkpointer
from agent.interfaces.cli import main
from agent.interfaces.commands.chat import run_chat
from tests.scripted_model import ScriptedChatModel


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CSM_AS_OF", "2026-11-20")
    for name in ("CSM_MODEL", "CSM_PORTFOLIO", "CSM_CHAT_MAX_STEPS", "LANGSMITH_TRACING",
                 "LANGCHAIN_TRACING_V2"):
        monkeypatch.delenv(name, raising=False)


def tool_call(name: str, **args: Any) -> AIMessage:
    return AIMessage(content="", tool_calls=[
        {"name": name, "args": args, "id": f"call-{name}", "type": "tool_call"}
    ])


def config(thread: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread}}


def csm_score_churn(capsys: pytest.CaptureFixture[str], account_id: str) -> float:
    assert main(["score", "--as-of", "2026-11-20", "--format", "json"]) == 0
    scores = json.loads(capsys.readouterr().out)["accounts"]
    return next(a["churn_risk"]["score"] for a in scores if a["id"] == account_id)


def test_agent_calls_score_account_and_quotes_csm_score(capsys: pytest.CaptureFixture[str]):
    model = ScriptedChatModel(script=[tool_call("score_account", account_id="acc-037"),
                                      "acc-037 has a churn risk of 84.21 (critical)."], calls=[])
    state = build_chat_agent(model).invoke({"messages": [("user", "How is acc-037 doing?")]})

    tool_messages = [m for m in state["messages"] if isinstance(m, ToolMessage)]
    assert [m.name for m in tool_messages] == ["score_account"]
    # the model reads the result inside a data block; the message keeps it whole as its artifact
    result = read_data_blocks(tool_messages[0].content)["score_account"]
    assert result == tool_messages[0].artifact
    assert result["id"] == "acc-037"
    assert result["churn_risk"]["score"] == csm_score_churn(capsys, "acc-037") == 84.21
    assert state["messages"][-1].content.startswith("acc-037 has a churn risk of 84.21")
    assert "Never estimate" in model.calls[0][0].content  # the system prompt leads


def test_unknown_account_comes_back_as_a_tool_error():
    model = ScriptedChatModel(script=[tool_call("score_account", account_id="nope"),
                                      "No such account."], calls=[])
    state = build_chat_agent(model).invoke({"messages": [("user", "score nope")]})
    error = next(m for m in state["messages"] if isinstance(m, ToolMessage))
    assert error.status == "error" and "no account with id 'nope'" in error.content


def test_a_resumed_thread_remembers_the_earlier_turn(tmp_path):
    db = tmp_path / "chat.sqlite3"
    first = ScriptedChatModel(script=[tool_call("score_account", account_id="acc-037"),
                                      "Churn risk 84.21."], calls=[])
    saver = sqlite_checkpointer(db)
    build_chat_agent(first, saver).invoke({"messages": [("user", "acc-037?")]}, config("acme"))
    saver.conn.close()

    second = ScriptedChatModel(script=["As I said, 84.21."], calls=[])
    saver = sqlite_checkpointer(db)
    try:
        agent = build_chat_agent(second, saver)
        remembered = agent.get_state(config("acme")).values["messages"]
        assert [type(m) for m in remembered] == [HumanMessage, AIMessage, ToolMessage, AIMessage]
        agent.invoke({"messages": [("user", "remind me?")]}, config("acme"))
        sent = second.calls[0]
        assert [m.content for m in sent if isinstance(m, HumanMessage)] == ["acc-037?",
                                                                            "remind me?"]
        assert any(isinstance(m, ToolMessage) and "84.21" in m.content for m in sent)
        assert agent.get_state(config("other")).values == {}  # threads are separate
    finally:
        saver.conn.close()


def test_csm_chat_without_a_model_says_how_to_configure_one(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    assert main(["chat"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip() == f"csm: error: {NO_MODEL}"
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    for needle in ("CSM_MODEL=openai:gpt-4.1-mini", "OPENAI_API_KEY", "OPENAI_BASE_URL", "Ollama",
                   "vLLM"):
        assert needle in NO_MODEL
    monkeypatch.setenv("CSM_MODEL", "none")
    assert main(["chat", "--thread", "x"]) == 1


def test_run_chat_prints_the_answer_and_keeps_memory(tmp_path):
    model = ScriptedChatModel(script=[tool_call("score_account", account_id="acc-037"),
                                      "Churn risk of acc-037: 84.21.", "You asked about acc-037."],
                              calls=[])
    out = io.StringIO()
    code = run_chat("t1", model=model, input=io.StringIO("how is acc-037?\n\nwhat did I ask?\n"
                                                         "/exit\nnever read\n"),
                    output=out, db=tmp_path / "chat.sqlite3")
    text = out.getvalue()
    assert code == 0
    assert text.startswith("you> ")
    assert "[tool score_account]" in text
    assert "csm> Churn risk of acc-037: 84.21." in text
    assert "csm> You asked about acc-037." in text
    assert len(model.calls) == 3 and "how is acc-037?" in [m.content for m in model.calls[2]]


def test_run_chat_survives_a_model_error(tmp_path):
    model = ScriptedChatModel(script=[RuntimeError("boom\nsecond line"), "Back again."], calls=[])
    out = io.StringIO()
    run_chat("t2", model=model, input=io.StringIO("hi\nhi again\n"), output=out,
             db=tmp_path / "chat.sqlite3")
    text = out.getvalue()
    assert "csm: the model call failed (RuntimeError: boom)." in text
    assert "Traceback" not in text and "second line" not in text
    assert "csm> Back again." in text


def test_server_graph_without_a_model_answers_with_the_sentence():
    from agent.chat.agent import server_graph

    state = server_graph().invoke({"messages": [("user", "hi")]})
    answers = [m for m in state["messages"] if isinstance(m, AIMessage)]
    assert len(answers) == 1
    assert answers[0].content.startswith("the chat graph needs a model: set CSM_MODEL=openai:")
