"""`csm mcp`: the tool surface over MCP, end to end with the SDK's own client (offline)."""

import json
import os
import sys
from pathlib import Path

import anyio
import pytest
from mcp import Client, StdioServerParameters

from agent.cli import main
from agent.mcp_server import build_server
from agent.tool_surface import READ_TOOLS, WRITE_TOOLS
from tools.playbook import default_playbook_path

ROOT = Path(__file__).resolve().parents[1]
AS_OF = "2026-11-20"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _sample_day(monkeypatch):
    monkeypatch.setenv("CSM_AS_OF", AS_OF)


@pytest.fixture(scope="module")
def csm_scores() -> dict[str, dict]:
    """`csm score --format json` of the sample portfolio, by account id."""
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main(["score", "--format", "json", "--as-of", AS_OF])
    return {a["id"]: a for a in json.loads(out.getvalue())["accounts"]}


def _text(result) -> str:
    return "".join(block.text for block in result.content if block.type == "text")


@pytest.mark.anyio
async def test_in_memory_tools_resources_prompt(csm_scores):
    with anyio.fail_after(60):
        async with Client(build_server(), mode="legacy") as client:
            tools = (await client.list_tools()).tools
            assert [t.name for t in tools] == list(READ_TOOLS)
            assert all(t.annotations and t.annotations.read_only_hint for t in tools)
            schema = {t.name: t.input_schema for t in tools}["score_account"]
            assert schema["required"] == ["account_id"]

            result = await client.call_tool("score_account", {"account_id": "acc-037"})
            assert not result.is_error
            assert result.structured_content == csm_scores["acc-037"]
            assert json.loads(_text(result)) == csm_scores["acc-037"]

            bad = await client.call_tool("score_account", {"account_id": "nope"})
            assert bad.is_error and "no account with id 'nope'" in _text(bad)
            again = await client.call_tool("list_accounts", {"tier": "critical"})
            assert not again.is_error and again.structured_content["total"] == 3

            uris = {str(r.uri) for r in (await client.list_resources()).resources}
            assert {"csm://playbook", "csm://knowledge/en/qbr", "csm://knowledge/ru/qbr"} <= uris
            playbook = (await client.read_resource("csm://playbook")).contents[0]
            assert playbook.text == default_playbook_path().read_text(encoding="utf-8")
            qbr = (await client.read_resource("csm://knowledge/en/qbr")).contents[0]
            assert qbr.mime_type == "text/markdown" and "QBR" in qbr.text

            prompts = (await client.list_prompts()).prompts
            assert [p.name for p in prompts] == ["six_step_assessment"]
            prompt = await client.get_prompt("six_step_assessment", {"account_id": "acc-037"})
            text = prompt.messages[0].content.text
            assert "acc-037" in text and "score_account" in text and "search_knowledge" in text


@pytest.mark.anyio
async def test_writes_only_when_allowed():
    async with Client(build_server(include_writes=True), mode="legacy") as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == set(READ_TOOLS) | set(WRITE_TOOLS)
    for name in WRITE_TOOLS:
        hints = tools[name].annotations
        assert hints.read_only_hint is False and hints.destructive_hint is False


@pytest.mark.anyio
async def test_stdio_subprocess(tmp_path, csm_scores):
    server = StdioServerParameters(
        command=sys.executable, args=["-m", "agent.cli", "mcp"], cwd=str(ROOT),
        env={"CSM_DATA_DIR": str(tmp_path), "CSM_AS_OF": AS_OF,
             "CSM_KNOWLEDGE_DIR": os.environ["CSM_KNOWLEDGE_DIR"]},  # the session's index
    )
    with anyio.fail_after(60):
        async with Client(server) as client:
            assert [t.name for t in (await client.list_tools()).tools] == list(READ_TOOLS)
            result = await client.call_tool("score_account", {"account_id": "acc-037"})
            assert not result.is_error and result.structured_content == csm_scores["acc-037"]
            bad = await client.call_tool("score_account", {"account_id": "nope"})
            assert bad.is_error and "no account with id 'nope'" in _text(bad)
