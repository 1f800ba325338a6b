"""Hostile account text in every medium: terminal (table, stderr, chat), CSV, Markdown reports.

Each account field is hostile: the reports are rendered with markdown-it-py and must hold no raw
HTML, link, image, code, emphasis, heading or blockquote that the account brought in, while
showing the hostile text literally."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, ToolMessage
from markdown_it import MarkdownIt
from markdown_it.token import Token

from agent.assessment.context import AssessmentContext
from agent.assessment.graph import build_graph
from agent.interfaces.cli import main
from agent.interfaces.commands.chat import chat_turn
from agent.interfaces.passages import write_passages
from tests.scripted_model import ScriptedChatModel, prose_answer
from tools.escaping import csv_cell, markdown_block, markdown_inline, terminal_line, terminal_text
from tools.knowledge.index import Passage
from tools.portfolio.account import Account
from tools.portfolio.readers import read_portfolio

AS_OF = date(2026, 11, 20)
ESC = "\x1b"
# One of each trick: raw HTML, links, images, autolinks, emphasis, code, entities, table cells,
# block markers on a new line, terminal escapes (colour, OSC 8 hyperlink, bidi override).
NAME = (
    "<script>alert(1)</script> [click](javascript:alert(1)) ![x](http://evil.example/x.png) "
    "<http://evil.example> <a@b.example> *b* __s__ `c` ~~s~~ &amp; &#65; | a | b \\*lit\\*"
    "\n# HEADING\n> quote\n- item\n1. one\n---\n===\n[ref]: http://evil.example"
    f"{ESC}[31mred{ESC}]8;;http://evil.example\x07link{ESC}]8;;\x07\u202eend"
)
SHOWN = (  # the name as a report shows it: one line, no control characters
    "<script>alert(1)</script> [click](javascript:alert(1)) ![x](http://evil.example/x.png) "
    "<http://evil.example> <a@b.example> *b* __s__ `c` ~~s~~ &amp; &#65; | a | b \\*lit\\*"
    " # HEADING > quote - item 1. one --- === [ref]: http://evil.example"
    "redlinkend"
)
LINE_START_NAMES = ["# Heading Co", "> Quote Co", "- Bullet Co", "1. Ordered Co", "[ref]: http://x",
                    "<div>Block</div>", "    Indented Co", "=====", "***"]
FORBIDDEN = {
    "html_block", "html_inline", "link_open", "image", "code_inline", "code_block", "fence",
    "em_open", "strong_open", "s_open", "heading_open", "blockquote_open", "hr",
}
MD = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def tokens(markdown: str) -> list[Token]:
    """Every token, inline children included."""
    flat = []
    for token in MD.parse(markdown):
        flat.append(token)
        flat.extend(token.children or [])
    return flat


def shown_text(markdown: str) -> str:
    """The text a reader sees, lines joined by spaces."""
    parts = []
    for token in tokens(markdown):
        if token.type in ("text", "code_inline"):
            parts.append(token.content)
        elif token.type in ("softbreak", "hardbreak", "paragraph_close"):
            parts.append(" ")
    return " ".join("".join(parts).split())


def structure(markdown: str) -> list[str]:
    return [t.type for t in MD.parse(markdown)]


REPORT_TITLES = {
    "en": ["Client Health Dashboard", "Success Plan", "Expansion Proposal",
           "Risk Mitigation Plan", "QBR Agenda"],
    "ru": ["Панель здоровья клиента", "План успеха", "Предложение о расширении",
           "План снижения рисков", "Повестка QBR"],
}


def found_in_account_reports(markdown: str, lang: str = "en") -> set[str]:
    """The token types of an account's reports, their own five headings (one per report, with
    the template's titles) taken out: any other heading came from the data."""
    parsed = MD.parse(markdown)
    titles = [parsed[i + 1].content for i, t in enumerate(parsed) if t.type == "heading_open"]
    assert titles == REPORT_TITLES[lang]
    return {t.type for t in tokens(markdown)} - {"heading_open"}


def hostile_account(base: Account, name: str) -> Account:
    """`base` with a hostile name and hostile stakeholders (names, titles, managers, channels,
    cadences), one of them a new primary contact so that tool-built evidence quotes it."""
    people = [
        {"name": f"Boss {name}", "title": f"<b>{name}</b>", "role": "decision_maker",
         "primary": False, "since": "2024-05-10", "satisfaction": 2, "engagement": "low",
         "preferred_channel": f"`{name}`", "meeting_cadence": f"| {name} |",
         "last_contact": "2026-08-19"},
        {"name": f"*Eve* {name}", "title": f"[t]({name})", "role": "detractor",
         "reports_to": f"Boss {name}", "primary": True, "since": "2026-11-01", "satisfaction": 0,
         "engagement": "low", "preferred_channel": f"\n# {name}", "meeting_cadence": name,
         "last_contact": "2026-09-27"},
    ]
    record = base.model_dump(mode="json", exclude_none=True)
    return Account.model_validate({**record, "name": name, "stakeholders": people})


@pytest.fixture(scope="module")
def graph() -> Any:
    return build_graph(checkpointer=None)


@pytest.fixture(scope="module")
def base() -> Account:
    return next(a for a in read_portfolio().accounts if a.id == "acc-037")


@pytest.fixture(scope="module")
def benign(graph: Any, base: Account) -> dict[str, list[str]]:
    """The block structure of the reports of the same account with plain names."""
    return {lang: structure(reports(graph, hostile_account(base, "Plain Name"), lang))
            for lang in ("en", "ru")}


def reports(graph: Any, account: Account, lang: str = "en", model: Any = "none") -> str:
    state = graph.invoke({"account": account},
                         context=AssessmentContext(as_of=AS_OF, lang=lang, model=model))
    r = state["reports"]
    return "\n\n".join(getattr(r, n) for n in
                       ("dashboard", "success_plan", "expansion_proposal", "risk_plan",
                        "qbr_agenda"))


# Markdown -----------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_hostile_account_reports_render_as_text(graph, base, benign, lang):
    hostile = reports(graph, hostile_account(base, NAME), lang)
    found = found_in_account_reports(hostile, lang)
    assert not found & FORBIDDEN, found & FORBIDDEN
    assert structure(hostile) == benign[lang]  # no block the account brought in
    assert ESC not in hostile and "\u202e" not in hostile and "\x07" not in hostile
    text = shown_text(hostile)
    assert SHOWN in text  # the name, literally
    assert f"*Eve* {SHOWN}" in text  # a stakeholder, inside tool-built action lines


@pytest.mark.parametrize("name", LINE_START_NAMES)
def test_a_name_at_the_start_of_a_line_opens_no_block(graph, base, benign, name):
    hostile = reports(graph, hostile_account(base, name))
    assert structure(hostile) == benign["en"]
    assert not found_in_account_reports(hostile) & FORBIDDEN
    assert " ".join(name.split()) in shown_text(hostile)


def test_model_written_summary_is_escaped_like_any_data(graph, base):
    summary = "<script>x</script> Read [this](javascript:alert(1)).\n# Owned\n> quoted"
    model = ScriptedChatModel(script=[prose_answer(summary)] * 5, calls=[])
    text = reports(graph, base, model=model)
    assert not found_in_account_reports(text) & FORBIDDEN
    assert "<script>x</script> Read [this](javascript:alert(1)). # Owned > quoted" in shown_text(
        text
    )


def test_portfolio_report_of_hostile_accounts(tmp_path, capsys):
    rows = [{"id": f"h{i}<b>_x_", "name": name, "mrr": 90000 + i, "renewal_date": "2026-12-01"}
            for i, name in enumerate([NAME, *LINE_START_NAMES])]
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"as_of": "2026-11-20", "accounts": rows}), encoding="utf-8")
    code = main(["sweep", str(path), "--db", str(tmp_path / "s.sqlite3"), "--out",
                 str(tmp_path / "out"), "--workers", "1", "--weekly"])
    out, err = capsys.readouterr()
    assert code == 0, err
    report = (tmp_path / "out" / "portfolio.md").read_text("utf-8")
    headings = [t for t in MD.parse(report) if t.type == "heading_open"]
    assert len(headings) == report.count("\n## ") + 1  # only the template's own headings
    found = {t.type for t in tokens(report)} - {"heading_open"}
    assert not found & FORBIDDEN
    text = shown_text(report)
    assert SHOWN in text and "h0<b>_x_" in text
    assert ESC not in out + err + report


def test_markdown_escaping_keeps_plain_text_readable():
    for plain in ("Lavka Domoy (94.17/100)", "by 2027-02-18.", "-5", "AT T", "R&D Labs",
                  "a < b", "snake_case_id", "5 * 3", "weekly_tickets [7, 12] all > 5"):
        assert markdown_inline(plain) == plain
    assert markdown_inline("1. Evil") == "1\\. Evil"
    assert markdown_inline("AT&T") == "AT\\&T"  # `&T;` would be an entity
    assert markdown_inline("a, ") == "a, "  # separators keep their space
    assert markdown_inline("C:\\dir\\") == "C:\\dir\\\\"  # no hard line break at the end
    assert markdown_block("one\n# two\n\n\n> three") == "one\n\\# two\n\n\\> three"


# terminal --------------------------------------------------------------------------------


def test_terminal_text_drops_escapes_and_controls():
    hostile = f"a{ESC}[1;31mb{ESC}]8;;http://e\x07c{ESC}]8;;{ESC}\\d\u202ee\x9bf\ng"
    assert terminal_line(hostile) == "abcdef g"
    assert terminal_text("a\r\nb\rc\td") == "a\nb\nc\td"


def hostile_portfolio(tmp_path: Path) -> Path:
    rows = [
        {"id": "h-1", "name": "[/]", "mrr": 100000},
        {"id": "h-2", "name": "[link=http://evil.example]click[/link] :skull:", "mrr": 90000},
        {"id": "=cmd|' /C calc'!A0", "name": "+1+1", "mrr": 500},
        {"id": "h-4", "name": f"@SUM(1){ESC}[31mRED{ESC}]8;;http://evil\x07x{ESC}]8;;\x07\u202e",
         "mrr": 100},
        {"id": "-2+3", "name": "Minus", "mrr": 250.5},
        {"id": f"bad{ESC}[2J\u202e", "name": "Broken", "mrr": "lots"},
    ]
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps({"as_of": "2026-11-20", "accounts": rows}), encoding="utf-8")
    return path


def test_table_shows_markup_as_text(tmp_path, capsys):
    code = main(["score", str(hostile_portfolio(tmp_path)), "--wide"])  # names on one line
    out, err = capsys.readouterr()
    assert code == 2, err  # the bad row is rejected, the rest is shown
    assert "[/]" in out and "[link=http://evil.example]click[/link]" in out
    assert ":skull:" in out and "MarkupError" not in err
    assert "@SUM(1)REDx" in out
    assert ESC not in out + err and "\u202e" not in out + err and "\x07" not in out + err
    assert "rejected" in err and "bad" in err


def test_csv_neutralises_formulas_and_keeps_numbers(tmp_path, capsys):
    code = main(["score", str(hostile_portfolio(tmp_path)), "--format", "csv"])
    out, _ = capsys.readouterr()
    assert code == 2 and ESC not in out
    rows = {r["name"]: r for r in csv.DictReader(io.StringIO(out))}
    assert "'+1+1" in rows and rows["'+1+1"]["id"] == "'=cmd|' /C calc'!A0"
    assert rows["'@SUM(1)REDx"]["id"] == "h-4"
    assert rows["Minus"]["id"] == "'-2+3"
    assert rows["[/]"]["id"] == "h-1"  # plain text is untouched
    assert float(rows["Minus"]["health_score"]) >= 0  # numbers stay numbers
    assert float(rows["Minus"]["churn_risk_score"]) > 0
    assert csv_cell(-1.5) == -1.5 and csv_cell(None) is None
    cells = [csv_cell(t) for t in ("-x", "\tx", "\rx", "x=1", "")]
    assert cells == ["'-x", "'\tx", "'\nx", "x=1", ""]


def test_kb_search_output_is_plain_text():
    passage = Passage(topic="qbr", lang="en", source="x.md", heading="[/] [link=http://e]h[/link]",
                      text=f"body {ESC}]8;;http://evil\x07click{ESC}]8;;\x07 [bold]b[/bold]",
                      score=0.5)
    out = io.StringIO()
    write_passages([passage], "table", out)
    text = out.getvalue()
    assert "[/] [link=http://e]h[/link]" in text and "[bold]b[/bold]" in text
    assert ESC not in text and "\x07" not in text


def test_chat_tool_lines_and_answers_are_cleaned():
    class Agent:  # streams like the chat agent: tokens ("messages") and node updates
        def get_state(self, config: Any) -> Any:
            raise ValueError("no checkpointer")

        def stream(self, *args: Any, **kwargs: Any) -> Any:
            tool = ToolMessage(content="{}", tool_call_id="1", name=f"x{ESC}]8;;http://e\x07y")
            text = f"Hi {ESC}[2Jthere\u202e"
            yield "updates", {"tools": {"messages": [tool]}}
            yield "messages", (AIMessage(content=text, id="a1"), {"langgraph_node": "model"})
            yield "updates", {"GroundingMiddleware.after_model": {"messages": [
                AIMessage(content=text, id="a1")]}}

    out = io.StringIO()
    chat_turn(Agent(), {}, "hello", out)
    assert out.getvalue() == "  [tool xy]\ncsm> Hi there\n"


def test_assess_progress_lines_are_cleaned(tmp_path, capsys):
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"accounts": [{"id": f"a{ESC}[31m\u202e", "name": "A"}]}), "utf-8")
    code = main(["assess", str(path), "--all", "--out", str(tmp_path / "out"), "--as-of",
                 "2026-11-20"])
    _, err = capsys.readouterr()
    assert code == 0, err
    assert ESC not in err and "\u202e" not in err and "] a: wrote" in err


# CLI odds and ends -------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "table"])
def test_a_closed_pipe_ends_quietly(tmp_path, fmt):
    big = tmp_path / "big.jsonl"
    assert main(["sample", "--accounts", "400", "--seed", "1", "--as-of", "2026-11-20",
                 "--out", str(big)]) == 0
    process = subprocess.Popen(
        [sys.executable, "-m", "agent.interfaces.cli", "score", str(big), "--format", fmt],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    assert len(process.stdout.read(100)) == 100
    process.stdout.close()  # like `| head -c 100`
    err = process.stderr.read().decode()
    assert process.wait(timeout=120) == 0
    assert err == ""  # no "internal error", no "Exception ignored ... BrokenPipeError"


@pytest.mark.parametrize("argv", [
    ["import", "{portfolio}"],
    ["sweep", "{portfolio}"],
    ["kb", "search", "renewal"],
    ["assess", "--account", "acc-001"],
    ["chat"],
])
def test_data_dir_that_is_a_file_is_one_sentence(tmp_path, monkeypatch, capsys, argv):
    monkeypatch.setenv("CSM_MODEL", "openai:gpt-4.1-mini")  # chat starts, then needs its memory
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.delenv("CSM_KNOWLEDGE_DIR")  # the index lives in the data directory too
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("", encoding="utf-8")
    portfolio = tmp_path / "p.json"
    portfolio.write_text(json.dumps([{"id": "a", "name": "A"}]), encoding="utf-8")
    for value in (blocker, blocker / "sub"):
        monkeypatch.setenv("CSM_DATA_DIR", str(value))
        code = main([a.replace("{portfolio}", str(portfolio)) for a in argv])
        _, err = capsys.readouterr()
        assert code == 1
        assert err.startswith(f"csm: error: CSM_DATA_DIR={value} is not a directory")
        assert "point CSM_DATA_DIR at a directory" in err and len(err.splitlines()) == 1
