"""Hostile and broken input, table-driven, through the real `csm` program (issue 9).

Each case writes its input files into a fresh folder, runs `csm` as a user would (a subprocess,
so a traceback or a crash at interpreter exit would show; `sweep` and `assess` run `main()` in
this process, where a traceback fails the test just the same), and checks: the exit code, the
one-line message on stderr, that every good row is still in the output, that no traceback is
printed, and that nothing was written outside the case's own output folder (the whole tree
around it is walked before and after)."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

AS_OF = "2026-11-20"
GOOD = {"id": "good-1", "name": "Good One", "mrr": 345000, "csat": 8, "engagement_score": 70}
GOOD2 = {"id": "good-2", "name": "Good Two", "mrr": 120000, "technical_score": 50}


def portfolio(*rows: object, as_of: str = AS_OF) -> str:
    return json.dumps({"as_of": as_of, "accounts": list(rows)}, ensure_ascii=False)


def jsonl(*lines: str) -> str:
    return "\n".join(lines) + "\n"


@dataclass
class Case:
    """One hostile input: the files, the command, what must happen."""

    cls: str
    name: str
    files: dict[str, str | bytes]
    argv: list[str]
    code: int
    stderr: list[str] = field(default_factory=list)  # substrings, each on one line
    stdout: list[str] = field(default_factory=list)
    good: list[str] = field(default_factory=list)  # ids that must be in the JSON output
    absent: list[str] = field(default_factory=list)  # text that must not reach stdout
    env: dict[str, str] = field(default_factory=dict)


DEEP = "[" * 100_000 + "]" * 100_000
HUGE = "1" + "0" * 400
BIG = "9" * 5000

CASES = [
    # 1. ids are data, never paths
    *[
        Case("ids as paths", f"sweep {label}", {"p.json": portfolio(
            {"id": bad, "name": "Hostile"}, GOOD)},
            ["sweep", "p.json", "--out", "out", "--db", "store/csm.sqlite3", "--workers", "1",
             "--as-of", AS_OF], 0, stdout=["swept 2 accounts"])
        for label, bad in [("absolute", "/tmp/csm-hostile-abs/x"), ("parent", "../escape"),
                           ("separator", "a/b"), ("long", "z" * 300), ("device", "CON"),
                           ("dot", "."), ("backslash", "..\\..\\x")]
    ],
    Case("ids as paths", "assess --all --out", {"p.json": portfolio(
        {"id": "../../up", "name": "Up"}, {"id": "/tmp/csm-hostile-abs/y", "name": "Abs"},
        GOOD)}, ["assess", "p.json", "--all", "--out", "out"], 0),
    # 2. one bad row never stops a run
    Case("bad row", "score json", {"p.json": portfolio({"id": "bad", "name": "B", "mrr": -1},
                                                       GOOD, GOOD2)},
         ["score", "p.json", "--format", "json"], 2, stderr=["(id bad): mrr"],
         good=["good-1", "good-2"]),
    Case("bad row", "sweep", {"p.json": portfolio({"id": "bad", "name": "B", "csat": 99}, GOOD)},
         ["sweep", "p.json", "--out", "out", "--db", "store/csm.sqlite3", "--workers", "1"], 2,
         stderr=["(id bad): csat"], stdout=["swept 1 accounts"]),
    Case("bad row", "import", {"p.csv": "id,name,mrr\nbad,B,lots\ngood-1,G,5\n"},
         ["import", "p.csv", "--db", "store/csm.sqlite3"], 2, stderr=["(id bad): mrr"],
         stdout=["imported 1 accounts"]),
    Case("bad row", "import, nothing readable", {"p.csv": "id,name,mrr\nbad,B,lots\n"},
         ["import", "p.csv", "--db", "store/csm.sqlite3"], 1,
         stderr=["no account could be read"]),
    Case("bad row", "assess --all", {"p.json": portfolio({"id": "bad", "name": ""}, GOOD)},
         ["assess", "p.json", "--all", "--out", "out"], 2, stderr=["name"]),
    Case("bad row", "duplicate id", {"p.json": portfolio(GOOD, {**GOOD2, "id": "good-1"})},
         ["score", "p.json", "--format", "json"], 2, stderr=["duplicate id"], good=["good-1"]),
    # 3. numbers beyond float range
    *[
        Case("huge numbers", f"{fmt} {label}", {f"p.{fmt}": content},
             ["score", f"p.{fmt}", "--format", "json"], 2, stderr=[expect], good=["good-1"])
        for fmt, label, content, expect in [
            ("json", "10**400", '{"accounts": [{"id": "h", "name": "H", "organic_traffic": '
             + HUGE + "}, " + json.dumps(GOOD) + "]}", "too large"),
            ("json", "5000 digits", '[{"id": "h", "name": "H", "mrr": ' + BIG + "}, "
             + json.dumps(GOOD) + "]", "too large"),
            ("jsonl", "1e400", jsonl('{"id": "h", "name": "H", "mrr": 1e400}', json.dumps(GOOD)),
             "mrr"),
            ("jsonl", "NaN", jsonl('{"id": "h", "name": "H", "csat": NaN}', json.dumps(GOOD)),
             "csat"),
            ("csv", "Infinity", "id,name,mrr\nh,H,Infinity\ngood-1,G,5\n", "mrr"),
            ("csv", "10**400", f"id,name,organic_traffic\nh,H,{HUGE}\ngood-1,G,5\n",
             "too large"),
            ("jsonl", "nested weekly", jsonl(
                '{"id": "h", "name": "H", "weekly_logins": [1, ' + HUGE + "]}",
                json.dumps(GOOD)), "weekly_logins"),
        ]
    ],
    # 4. dates at the ends of the calendar
    Case("far dates", "assess, QBR in 9999", {"p.json": portfolio(
        {**GOOD, "last_qbr_date": "9999-12-31", "contract_start": "9999-12-31",
         "renewal_date": "9999-12-31"})},
         ["assess", "p.json", "--account", "good-1"], 0, stdout=["HEALTH SCORE"]),
    Case("far dates", "assess as of 9999-12-31", {"p.json": portfolio(
        {**GOOD, "renewal_date": "0001-01-01", "last_login": "0001-01-01"})},
         ["assess", "p.json", "--all", "--as-of", "9999-12-31"], 0),
    Case("far dates", "sweep as of 0001-01-01", {"p.json": portfolio(
        {**GOOD, "renewal_date": "9999-12-31", "last_qbr_date": "0001-01-01"})},
         ["sweep", "p.json", "--out", "out", "--db", "store/csm.sqlite3", "--workers", "1",
          "--as-of", "0001-01-01"], 0),
    Case("far dates", "not a date", {"p.json": portfolio({"id": "d", "name": "D",
                                                          "last_login": "2026-02-30"}, GOOD)},
         ["score", "p.json", "--format", "json"], 2, stderr=["last_login"], good=["good-1"]),
    # 5. implausible data: a warning, the value ignored, or a row error
    Case("implausible", "login after as-of", {"p.json": portfolio(
        {**GOOD, "last_login": "2029-12-31"})}, ["score", "p.json", "--format", "json"], 0,
         stderr=["warning", "last_login"], good=["good-1"]),
    Case("implausible", "active above licensed", {"p.json": portfolio(
        {**GOOD, "active_seats": 9, "licensed_seats": 3})},
         ["score", "p.json", "--format", "json"], 0, stderr=["warning", "active_seats"],
         good=["good-1"]),
    Case("implausible", "short CSV row", {"p.csv": "id,name,mrr,csat\ns,S,5\ngood-1,G,5,8\n"},
         ["score", "p.csv", "--format", "json"], 2, stderr=["cells"], good=["good-1"]),
    Case("implausible", "long CSV row", {"p.csv": "id,name,mrr\nl,L,5,6,7\ngood-1,G,5\n"},
         ["score", "p.csv", "--format", "json"], 2, stderr=["cells"], good=["good-1"]),
    # 6. misspelled columns and playbook inputs
    Case("misspelled", "CSV columns", {"p.csv": "id,name,MRR,csat_score\ng,G,5,8\n"},
         ["score", "p.csv", "--format", "json"], 0,
         stderr=["unknown column 'MRR'; did you mean 'mrr'?", "'csat_score'"]),
    Case("misspelled", "JSON key", {"p.json": portfolio({**GOOD, "engagment_score": 5})},
         ["score", "p.json", "--format", "json"], 0, stderr=["engagement_score"],
         good=["good-1"]),
    # 7. markup in names and ids
    Case("markup", "rich close tag in the table", {"p.json": portfolio(
        {"id": "m", "name": "[/]"}, GOOD)}, ["score", "p.json"], 0, stdout=["[/]"]),
    Case("markup", "terminal link and ANSI", {"p.json": portfolio(
        {"id": "m", "name": "[link=http://evil.example]x[/link] \x1b[31mred\x1b]8;;http://e\x07"},
        GOOD)}, ["score", "p.json"], 0, absent=["\x1b", "\x07"]),
    Case("markup", "CSV formula", {"p.json": portfolio(
        {"id": "=cmd|' /C calc'!A0", "name": "+1+1"}, {"id": "@SUM(1)", "name": "-2"})},
         ["score", "p.json", "--format", "csv"], 0,
         stdout=["'=cmd|' /C calc'!A0", "'+1+1", "'@SUM(1)", "'-2"]),
    Case("markup", "Markdown report", {"p.json": portfolio(
        {"id": "x", "name": "<script>alert(1)</script>](javascript:alert(1))\n# HEADING"})},
         ["assess", "p.json", "--account", "x"], 0, stdout=["\\<script>"],
         absent=["\n# HEADING", "\n<script>", " <script>"]),
    # 8. the rest of what broke
    Case("the rest", "JSON nested 100,000 deep", {"p.json": DEEP},
         ["score", "p.json"], 1, stderr=["csm: error:"]),
    Case("the rest", "JSONL line nested deep", {"p.jsonl": jsonl(DEEP, json.dumps(GOOD))},
         ["score", "p.jsonl", "--format", "json"], 2, good=["good-1"]),
    Case("the rest", "data dir is a file", {"blocker": "x", "p.json": portfolio(GOOD)},
         ["import", "p.json"], 1, stderr=["is not a directory"],
         env={"CSM_DATA_DIR": "blocker"}),
    Case("the rest", "--workers 0", {"p.json": portfolio(GOOD)},
         ["sweep", "p.json", "--workers", "0"], 1, stderr=["--workers"]),
    Case("the rest", "--workers -1", {"p.json": portfolio(GOOD)},
         ["sweep", "p.json", "--workers", "-1"], 1, stderr=["--workers"]),
    # variants not listed in the issue
    Case("more", "empty file", {"p.json": ""}, ["score", "p.json"], 1, stderr=["csm: error:"]),
    Case("more", "not UTF-8", {"p.jsonl": b'{"id": "x", "name": "\xff\xfe"}\n'
                               + json.dumps(GOOD).encode() + b"\n"},
         ["score", "p.jsonl", "--format", "json"], 2, stderr=["UTF-8"], good=["good-1"]),
    Case("more", "binary garbage", {"p.csv": bytes(range(256)) * 4},
         ["score", "p.csv"], 1, stderr=["csm: error:"]),
    Case("more", "accounts is not a list", {"p.json": '{"accounts": 5}'},
         ["score", "p.json"], 1, stderr=["accounts"]),
    Case("more", "row is not an object", {"p.json": portfolio(5, "x", None, GOOD)},
         ["score", "p.json", "--format", "json"], 2, good=["good-1"]),
    Case("more", "NUL and bidi in a name", {"p.json": portfolio(
        {"id": "n", "name": "a\x00b\u202ec"}, GOOD)}, ["score", "p.json"], 0,
         absent=["\x00", "\u202e"]),
    Case("more", "stakeholders not a list", {"p.json": portfolio(
        {"id": "s", "name": "S", "stakeholders": {"name": "x"}}, GOOD)},
         ["score", "p.json", "--format", "json"], 2, stderr=["stakeholders"], good=["good-1"]),
    Case("more", "string in weekly logins", {"p.json": portfolio(
        {"id": "w", "name": "W", "weekly_logins": ["a", 1]}, GOOD)},
         ["score", "p.json", "--format", "json"], 2, stderr=["weekly_logins"],
         good=["good-1"]),
    Case("more", "a 20,000-character name", {"p.json": portfolio(
        {"id": "long", "name": "N" * 20000}, GOOD)},
         ["score", "p.json", "--format", "json"], 0, good=["long", "good-1"]),
    Case("more", "unknown file type", {"p.xlsx": "x"}, ["score", "p.xlsx"], 1,
         stderr=["unknown portfolio format"]),
    Case("more", "missing file", {}, ["score", "nope.json"], 1, stderr=["file not found"]),
    Case("more", "bad --as-of", {"p.json": portfolio(GOOD)},
         ["score", "p.json", "--as-of", "2026-13-01"], 1, stderr=["YYYY-MM-DD"]),
]


def tree(root: Path) -> set[str]:
    return {os.path.relpath(os.path.join(d, n), root)
            for d, dirs, files in os.walk(root) for n in dirs + files}


def _in_process(argv: list[str], work: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
                capfd: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """`csm ARGV` through `agent.interfaces.cli.main` in this process (a traceback would fail
    the test)."""
    from agent.interfaces.cli import main

    for key in [k for k in os.environ if k.startswith(("CSM_", "OPENAI_"))]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(work)
    capfd.readouterr()
    code = main(argv)
    out, err = capfd.readouterr()
    return code, out, err


@pytest.mark.parametrize("case", CASES, ids=[f"{c.cls}: {c.name}" for c in CASES])
def test_hostile_input(case: Case, tmp_path: Path, knowledge_index_dir: Path,
                       monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"  # the case's folder; every output it may write stays under it
    work = home / "work"
    work.mkdir(parents=True)
    for name, content in case.files.items():
        target = work / name
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CSM_", "OPENAI_"))}
    env.update(CSM_DATA_DIR=str(home / "data"), CSM_KNOWLEDGE_DIR=str(knowledge_index_dir),
               CSM_MODEL="none", COLUMNS="200")
    env.update({k: str(work / v) for k, v in case.env.items()})
    before = tree(tmp_path)
    absolute = Path("/tmp/csm-hostile-abs")
    existed = absolute.exists()
    if case.argv[0] in ("sweep", "assess"):  # the graph's imports are paid once, in-process
        code, out, err = _in_process(case.argv, work, env, monkeypatch, capfd)
    else:
        run = subprocess.run([sys.executable, "-m", "agent.interfaces.cli", *case.argv], cwd=work,
                             env=env, capture_output=True, timeout=300)
        code = run.returncode
        out = run.stdout.decode("utf-8", "replace")
        err = run.stderr.decode("utf-8", "replace")
    assert code == case.code, (out[-2000:], err[-2000:])
    assert "Traceback" not in err and "Exception ignored" not in err, err[-3000:]
    for expected in case.stderr:
        assert any(expected in line for line in err.splitlines()), (expected, err[-2000:])
    for expected in case.stdout:
        assert expected in out, (expected, out[-2000:])
    for text in case.absent:
        assert text not in out and text not in err, repr(text)
    if case.code == 1:
        errors = [line for line in err.splitlines() if line.startswith(("csm: error:", "csm "))]
        assert len(errors) >= 1 and all(len(e) < 600 for e in errors), err
    if case.good:
        ids = {a["id"] for a in json.loads(out)["accounts"]}
        assert set(case.good) <= ids, ids
    if "--format" in case.argv and case.argv[case.argv.index("--format") + 1] == "csv":
        rows = list(csv.reader(io.StringIO(out)))
        assert rows[0][0] == "id" and len(rows) > 1
    allowed = ("home/work", "home/data")
    for path in tree(tmp_path) - before:
        assert path == "home" or path.startswith(allowed), f"written outside: {path}"
    assert existed or not absolute.exists(), "an absolute id became a path"
