"""`csm mcp`: the tool surface over MCP, end to end with the SDK's own client (offline)."""

import json
import logging
import os
import sys
from importlib.metadata import version
from pathlib import Path

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import MCPError

from agent.chat.tool_surface import READ_TOOLS, WRITE_TOOLS
from agent.interfaces.cli import main
from agent.interfaces.mcp_server import build_server
from tools.playbook import default_playbook_path
from tools.portfolio.readers import read_portfolio, sample_portfolio_path, write_portfolio

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


def _scores(result) -> dict:
    """A score_account result without its `source` (which `csm score` does not print)."""
    return {k: v for k, v in result.structured_content.items() if k != "source"}


SAMPLE = {"kind": "sample", "path": str(sample_portfolio_path())}


def _portfolio(path: Path, ids: list[str]) -> Path:
    """A portfolio file of sample accounts under new ids."""
    sample = read_portfolio().accounts
    write_portfolio([{**a.model_dump(mode="json", exclude_none=True), "id": new}
                     for a, new in zip(sample, ids, strict=False)], path)
    return path


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
            assert _scores(result) == csm_scores["acc-037"]
            assert result.structured_content["source"] == SAMPLE
            assert json.loads(_text(result)) == result.structured_content

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
    for name in WRITE_TOOLS:  # both replace what is there: clients ask before calling them
        hints = tools[name].annotations
        assert hints.read_only_hint is False and hints.destructive_hint is True
        assert hints.idempotent_hint is True and hints.open_world_hint is False


@pytest.mark.anyio
async def test_stdio_subprocess(tmp_path, csm_scores):
    server = StdioServerParameters(
        command=sys.executable, args=["-m", "agent.interfaces.cli", "mcp"], cwd=str(ROOT),
        env={"CSM_DATA_DIR": str(tmp_path), "CSM_AS_OF": AS_OF,
             "CSM_KNOWLEDGE_DIR": os.environ["CSM_KNOWLEDGE_DIR"]},  # the session's index
    )
    with anyio.fail_after(60):
        async with Client(server) as client:
            assert [t.name for t in (await client.list_tools()).tools] == list(READ_TOOLS)
            result = await client.call_tool("score_account", {"account_id": "acc-037"})
            assert not result.is_error and _scores(result) == csm_scores["acc-037"]
            bad = await client.call_tool("score_account", {"account_id": "nope"})
            assert bad.is_error and "no account with id 'nope'" in _text(bad)


@pytest.mark.anyio
async def test_version_descriptions_bounds_and_argument_errors(caplog):
    with anyio.fail_after(60):
        async with Client(build_server(), mode="legacy") as client:
            assert client.server_info.version == version("csm-agent") != ""
            tools = {t.name: t for t in (await client.list_tools()).tools}
            for tool in tools.values():
                assert all(line == line.lstrip() for line in tool.description.splitlines())
            k = tools["search_knowledge"].input_schema["properties"]["k"]
            limit = tools["list_accounts"].input_schema["properties"]["limit"]
            assert (k["minimum"], k["maximum"], limit["minimum"], limit["maximum"]) == (
                1, 10, 1, 500)

            for name, args, sentence in [
                ("search_knowledge", {"query": "qbr", "k": -1},
                 "k must be an integer from 1 to 10 (got -1)."),
                ("search_knowledge", {"query": "qbr", "k": "many"},
                 "k must be an integer from 1 to 10 (got 'many')."),
                ("list_accounts", {"limit": 0},
                 "limit must be an integer from 1 to 500 (got 0)."),
                ("score_account", {}, "the argument 'account_id' is required."),
            ]:
                result = await client.call_tool(name, args)
                assert result.is_error
                assert _text(result) == f"Error executing tool {name}: {sentence}"

            with caplog.at_level(logging.DEBUG):
                with pytest.raises(MCPError) as bad_lang:
                    await client.get_prompt("six_step_assessment",
                                            {"account_id": "acc-037", "lang": "de"})
                with pytest.raises(MCPError) as no_id:
                    await client.get_prompt("six_step_assessment", {"lang": "en"})
    assert bad_lang.value.message == (
        "prompt six_step_assessment: lang must be one of 'en', 'ru' (got 'de').")
    assert no_id.value.message == (
        "prompt six_step_assessment: the argument 'account_id' is required.")
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


@pytest.mark.anyio
async def test_in_memory_reads_what_the_tools_write(tmp_path, monkeypatch):
    monkeypatch.delenv("CSM_PORTFOLIO", raising=False)
    async with Client(build_server(include_writes=True), mode="legacy") as client:
        first = (await client.call_tool("list_accounts", {})).structured_content
        assert first["source"] == SAMPLE and first["total"] == 40
        path = _portfolio(tmp_path / "clients.jsonl", ["new-1", "new-2"])
        imported = await client.call_tool("write_import_portfolio", {"path": str(path)})
        assert imported.structured_content["source"]["kind"] == "store"
        listed = (await client.call_tool("list_accounts", {})).structured_content
        assert listed["source"] == imported.structured_content["source"]
        assert sorted(a["id"] for a in listed["accounts"]) == ["new-1", "new-2"]
        scored = await client.call_tool("score_account", {"account_id": "new-2"})
        assert not scored.is_error

        edited = _portfolio(tmp_path / "edited.json", ["e-1", "e-2", "e-3"])
        monkeypatch.setenv("CSM_PORTFOLIO", str(edited))
        assert (await client.call_tool("list_accounts", {})).structured_content["total"] == 3
        _portfolio(edited, ["e-1"])
        again = (await client.call_tool("list_accounts", {})).structured_content
        assert again["source"] == {"kind": "file", "path": str(edited)}
        assert [a["id"] for a in again["accounts"]] == ["e-1"]


@pytest.mark.anyio
async def test_stdio_import_then_list_and_a_bad_prompt_argument(tmp_path):
    """One `csm mcp --allow-writes` process: an import is listed at once, an edited portfolio
    file is re-read, and a bad prompt argument is one sentence with nothing on stderr."""
    server = StdioServerParameters(
        command=sys.executable, args=["-m", "agent.interfaces.cli", "mcp", "--allow-writes"],
        cwd=str(ROOT),
        env={"CSM_DATA_DIR": str(tmp_path / "data"), "CSM_AS_OF": AS_OF,
             "CSM_KNOWLEDGE_DIR": os.environ["CSM_KNOWLEDGE_DIR"]},
    )
    path = _portfolio(tmp_path / "clients.csv", ["s-1", "s-2", "s-3"])
    with anyio.fail_after(60), open(tmp_path / "stderr.txt", "w") as errors:
        async with Client(stdio_client(server, errlog=errors)) as client:
            assert client.server_info.version == version("csm-agent")
            before = (await client.call_tool("list_accounts", {})).structured_content
            assert before["source"]["kind"] == "sample"
            await client.call_tool("write_import_portfolio", {"path": str(path)})
            after = (await client.call_tool("list_accounts", {})).structured_content
            assert after["source"] == {"kind": "store",
                                       "path": str(tmp_path / "data" / "csm.sqlite3")}
            assert sorted(a["id"] for a in after["accounts"]) == ["s-1", "s-2", "s-3"]
            _portfolio(path, ["s-4"])
            await client.call_tool("write_import_portfolio", {"path": str(path)})
            assert (await client.call_tool("list_accounts", {})).structured_content["total"] == 4
            with pytest.raises(MCPError, match="lang must be one of 'en', 'ru'"):
                await client.get_prompt("six_step_assessment",
                                        {"account_id": "s-1", "lang": "de"})
    assert "Traceback" not in (tmp_path / "stderr.txt").read_text()
