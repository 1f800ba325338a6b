"""Hostile and broken input (issue 9): account ids are data, never paths; one bad row never
stops a run; odds and ends of `csm sweep` and `csm import`. The tests that store run on both
stores (SQLite and PostgreSQL: the `store_db` fixture); PostgreSQL text cannot hold a NUL
character, so there the id with one is a row the store refuses, named like any other."""

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

import agent.assessment.nodes as graph_module
import agent.chat.tool_surface as tool_surface
import agent.interfaces.commands.sweep as sweep_command
import agent.sweeps.sweep as sweep_module
from agent.interfaces.cli import main
from agent.sweeps.store import StoreError, open_store
from tools.filenames import report_name
from tools.portfolio.readers import sample_portfolio_path, write_portfolio
from tools.portfolio.sample import generate_accounts

AS_OF = "2026-11-20"


@pytest.fixture(scope="module")
def _module_data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("csm-data-hostile")


@pytest.fixture(autouse=True)
def _shared_data_dir(_private_data_dir, _module_data_dir, monkeypatch):
    """One data directory for this module's tests: the knowledge index is built once (every
    store and reports folder here is in the test's own tmp_path)."""
    monkeypatch.setenv("CSM_DATA_DIR", str(_module_data_dir))


def hostile_ids(victim: Path) -> list[str]:
    """Ids that were file paths: absolute (into a folder of the test), parent escapes, separators,
    too long, Windows device names, dots, case twins, unicode, control characters."""
    return [
        str(victim / "x"), "../x", "../../x", "../../../x", "a/b", "a\\b", "y" * 300, "CON",
        "con.txt", ".", "..", "Acme", "acme", "Ромашка", "new\nline", "nul\x00\x01char",
        "ok-1",
    ]


def hostile_portfolio(tmp_path: Path) -> tuple[Path, Path, list[str]]:
    """The portfolio deep inside tmp_path (so every escape lands inside tmp_path), the victim
    folder an absolute id points into, and the ids."""
    victim = tmp_path / "victim"
    victim.mkdir()
    base = tmp_path / "one" / "two"
    base.mkdir(parents=True)
    ids = hostile_ids(victim)
    accounts = [{"id": i, "name": f"Client {n}", "mrr": 1000 * (n + 1)} for n, i in enumerate(ids)]
    portfolio = base / "p.json"
    portfolio.write_text(json.dumps({"as_of": AS_OF, "accounts": accounts}), encoding="utf-8")
    return portfolio, victim, ids


def tree(root: Path) -> set[str]:
    """Every file and folder under root (symbolic links not followed)."""
    found = set()
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            found.add(os.path.relpath(os.path.join(folder, name), root))
    return found


def assert_only_inside(root: Path, before: set[str], allowed: list[Path]) -> None:
    """Nothing new under root but entries of the allowed folders (and the folders)."""
    allowed_rel = [os.path.relpath(a, root) for a in allowed]
    for path in tree(root) - before:
        assert any(path == a or path.startswith(a + os.sep) for a in allowed_rel), path


def control(text: str) -> bool:
    return any(not c.isprintable() for c in text)


def assert_one_report_each(out: Path, ids: list[str], written: dict[str, str], lang: str = "en",
                           suffix: str = "md", extra: tuple[str, ...] = ()) -> None:
    """Every readable account got exactly one report, under its mapped name, with its own
    content; names are unique even ignoring case; the folder holds nothing else."""
    names = {p.name for p in out.iterdir()}
    assert names == set(written.values()) | set(extra)
    assert len({n.lower() for n in written.values()}) == len(written)
    for n, account_id in enumerate(ids):
        if account_id not in written:
            assert control(account_id), account_id  # only ids a reader may refuse are missing
            continue
        assert written[account_id] == report_name(account_id, lang, suffix)
        text = (out / written[account_id]).read_text("utf-8")
        assert (f'"name": "Client {n}"' in text) if suffix == "json" else text.split(
            "\n", 1)[0].endswith(f": Client {n}")  # CLIENT: ... (КЛИЕНТ: in Russian)


def sweep_args(portfolio: Path, db: Path | str, out: Path, *extra: str) -> list[str]:
    return ["sweep", str(portfolio), "--db", str(db), "--out", str(out), *extra]


def in_folder(store_db: Path | str, folder: Path) -> Path | str:
    """The test's store, a SQLite file put in `folder` (a server's database stays where it
    is)."""
    return folder / store_db.name if isinstance(store_db, Path) else store_db


def files_of(db: Path | str) -> list[Path]:
    """The folders a store may write to: a SQLite file's own (a server's: none here)."""
    return [db.parent] if isinstance(db, Path) else []


def test_sweep_with_hostile_ids_writes_only_inside_out(tmp_path, capsys, store_db):
    portfolio, victim, ids = hostile_portfolio(tmp_path)
    out, db = portfolio.parent / "out", in_folder(store_db, tmp_path / "db")
    before = tree(tmp_path)
    code = main(sweep_args(portfolio, db, out, "--workers", "2"))
    _, err = capsys.readouterr()
    assert code in (0, 2), err
    assert_only_inside(tmp_path, before, [out, *files_of(db)])
    assert not list(victim.iterdir()) and not Path(f"{victim}/x.en.md").exists()
    report = json.loads((out / "portfolio.json").read_text("utf-8"))
    assert_one_report_each(out, ids, report["report_files"],
                           extra=("portfolio.md", "portfolio.json"))
    refused = {e["id"] for e in report["rows_not_processed"]}
    assert set(ids) == set(report["report_files"]) | refused
    assert (code == 2) == bool(refused)
    if isinstance(db, str):  # PostgreSQL text holds no NUL: that row is refused, and named
        assert {i for i in ids if "\x00" in i} <= refused
    store = open_store(db)
    stored = store.report_files(report["sweep_id"])
    assert {k: Path(v) for k, v in stored.items()} == {
        k: out.resolve() / v for k, v in report["report_files"].items()}
    assert store.sweep(AS_OF)["accounts"] == len(report["report_files"])
    store.close()


def test_assess_all_with_hostile_ids_writes_only_inside_out(tmp_path, capsys):
    portfolio, victim, ids = hostile_portfolio(tmp_path)
    out = portfolio.parent / "out"
    before = tree(tmp_path)
    for suffix in ("md", "json"):
        code = main(["assess", str(portfolio), "--all", "--out", str(out), "--format", suffix])
        _, err = capsys.readouterr()
        assert code in (0, 2), err
        refused = {int(n) for n in re.findall(r"^csm: rejected p\.json: row (\d+)", err, re.M)}
        assert (code == 2) == bool(refused)
    assert_only_inside(tmp_path, before, [out])
    assert not list(victim.iterdir())
    assessed = [i for n, i in enumerate(ids, start=1) if n not in refused]
    assert_one_report_each(out, ids, {i: report_name(i, "en") for i in assessed},
                           extra=tuple(report_name(i, "en", "json") for i in assessed))


def test_save_report_tool_with_hostile_ids_writes_only_inside_its_folder(tmp_path, monkeypatch):
    portfolio, victim, ids = hostile_portfolio(tmp_path)
    monkeypatch.setenv("CSM_PORTFOLIO", str(portfolio))
    monkeypatch.setenv("CSM_AS_OF", AS_OF)
    out = portfolio.parent / "saved" / "deeper"
    before = tree(tmp_path)
    save = tool_surface.WRITE_TOOLS["write_save_report"]
    written = {}
    for account_id in ids:
        try:
            result = save(account_id=account_id, folder=str(out))
        except tool_surface.ToolError:
            assert control(account_id)  # refused by the reader: "no account with id"
            continue
        assert Path(result["path"]).parent == out.resolve()
        written[account_id] = result["file"]
    assert_only_inside(tmp_path, before, [portfolio.parent / "saved"])
    assert not list(victim.iterdir())
    assert_one_report_each(out, ids, written)
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    for folder in ("", str(tmp_path / "a-file")):
        with pytest.raises(tool_surface.ToolError):
            save(account_id="ok-1", folder=folder)


def test_resume_after_interruption_with_hostile_ids_uses_the_printed_command(
    tmp_path, capsys, monkeypatch, store_db
):
    portfolio, victim, ids = hostile_portfolio(tmp_path)
    monkeypatch.setattr(sweep_module, "BATCH", 4)
    real_progress = sweep_command._progress

    def stop_after_a_batch(total):
        def progress(done, _total):
            if done >= 4:
                raise KeyboardInterrupt
        return None, progress

    monkeypatch.setattr(sweep_command, "_progress", stop_after_a_batch)
    monkeypatch.chdir(portfolio.parent)
    before = tree(tmp_path)
    given = "db/store.sqlite3" if isinstance(store_db, Path) else store_db  # a relative path
    code = main(["sweep", "p.json", "--db", given, "--out", "out", "--workers", "1",
                 "--weekly", "--lang", "ru"])
    _, err = capsys.readouterr()
    assert code == 130
    hint = err.split("finish it with: ", 1)[1].strip()
    argv = shlex.split(hint)
    out = (portfolio.parent / "out").resolve()
    db = portfolio.parent / given if isinstance(store_db, Path) else store_db
    assert argv[:3] == ["csm", "sweep", str(portfolio.resolve())]
    for flag, value in [("--as-of", AS_OF), ("--db", str(db)),
                        ("--out", str(out)), ("--lang", "ru"), ("--workers", "1")]:
        assert argv[argv.index(flag) + 1] == value
    assert "--resume" in argv and "--weekly" in argv
    store = open_store(db)
    assert store.sweep(AS_OF)["status"] == "incomplete" and store.sweep(AS_OF)["accounts"] == 4
    store.close()
    monkeypatch.setattr(sweep_command, "_progress", real_progress)
    monkeypatch.chdir(tmp_path)  # the printed command works from anywhere
    code = main(argv[1:])
    out_text, err = capsys.readouterr()
    assert code in (0, 2), err
    assert "(4 already done)" in out_text
    assert_only_inside(tmp_path, before, [out, *files_of(db)])
    assert not list(victim.iterdir())
    report = json.loads((out / "portfolio.json").read_text("utf-8"))
    assert report["routine"] == "weekly"
    assert_one_report_each(out, ids, report["report_files"], lang="ru",
                           extra=("portfolio.md", "portfolio.json"))
    store = open_store(db)
    assert store.sweep(AS_OF)["status"] == "complete"
    assert store.sweep(AS_OF)["accounts"] == len(report["report_files"])
    store.close()


# one bad row never stops a run --------------------------------------------------------------


def crash_for(account_id, monkeypatch):
    """Make the scoring tool of the graph fail for one account only."""
    real = graph_module.score_reviewed

    def flaky(reviewed, *args, **kwargs):
        if reviewed.account.id == account_id:
            raise RuntimeError("disk on fire")
        return real(reviewed, *args, **kwargs)

    monkeypatch.setattr(graph_module, "score_reviewed", flaky)


FOUR = [{"id": "a", "name": "Alpha", "mrr": 1000}, {"id": "b", "name": "Beta", "mrr": 2000},
        {"id": "c", "name": "Gamma"}, {"id": "d", "name": "Delta", "csat": 9}]


def write(path, accounts):
    path.write_text(json.dumps({"as_of": AS_OF, "accounts": accounts}), encoding="utf-8")
    return path


def test_a_row_that_crashes_in_the_sweep_is_named_and_the_rest_is_swept(
    tmp_path, capsys, monkeypatch, store_db
):
    crash_for("b", monkeypatch)
    portfolio, out, db = write(tmp_path / "p.json", FOUR), tmp_path / "out", store_db
    code = main(sweep_args(portfolio, db, out, "--workers", "1"))
    stdout, err = capsys.readouterr()
    assert code == 2
    assert "csm: rejected p.json: row 2 (id b): (row): not processed: RuntimeError: disk on fire"\
        in err
    assert "swept 3 accounts" in stdout and "1 rows not processed" in stdout
    report = json.loads((out / "portfolio.json").read_text("utf-8"))
    assert report["rows_not_processed_total"] == 1
    assert report["rows_not_processed"] == [{
        "source": "p.json", "row": 2, "id": "b",
        "reason": "(row): not processed: RuntimeError: disk on fire"}]
    assert set(report["report_files"]) == {"a", "c", "d"} and report["accounts"] == 3
    assert sorted(p.name for p in out.iterdir()) == [
        "a.en.md", "c.en.md", "d.en.md", "portfolio.json", "portfolio.md"]
    markdown = (out / "portfolio.md").read_text("utf-8")
    assert "## Rows not processed (1)\n\n- row 2 (id b): (row): not processed: RuntimeError" \
        in markdown
    store = open_store(db)
    row = store.sweep(AS_OF)
    assert (row["status"], row["accounts"], row["rejected"]) == ("complete", 3, 1)
    assert json.loads(row["errors"])[0]["id"] == "b"
    store.close()
    code = main(sweep_args(portfolio, db, out, "--workers", "1"))  # the same inputs again
    assert code == 2 and "nothing to do" in capsys.readouterr().err


def test_the_markdown_lists_25_rows_not_processed_and_the_json_all(tmp_path, capsys):
    rows = [{"id": f"bad-{n}", "name": "", "mrr": -1} for n in range(30)]
    portfolio = write(tmp_path / "p.json", [*rows, {"id": "good", "name": "Good"}])
    out = tmp_path / "out"
    assert main(sweep_args(portfolio, tmp_path / "s.db", out, "--workers", "1")) == 2
    capsys.readouterr()
    report = json.loads((out / "portfolio.json").read_text("utf-8"))
    assert report["rows_not_processed_total"] == 30 and len(report["rows_not_processed"]) == 30
    first = report["rows_not_processed"][0]
    assert first["row"] == 1 and first["id"] == "bad-0"
    assert "name:" in first["reason"] and "mrr:" in first["reason"]  # one entry per row
    markdown = (out / "portfolio.md").read_text("utf-8")
    section = markdown.split("## Rows not processed (30)\n", 1)[1]
    assert section.count("\n- row ") == 25 and "- ... 5 more in the JSON report" in section


def test_a_newline_in_an_id_stays_on_one_markdown_line(tmp_path, capsys):
    portfolio = write(tmp_path / "p.json", [{"id": "x\ny", "name": "", "mrr": 1},
                                            {"id": "good", "name": "Good"}])
    out = tmp_path / "out"
    assert main(sweep_args(portfolio, tmp_path / "s.db", out, "--workers", "1")) == 2
    capsys.readouterr()
    markdown = (out / "portfolio.md").read_text("utf-8")
    assert "- row 1 (id x\\ny): name:" in markdown


def test_a_row_that_crashes_in_assess_all_is_named_and_the_rest_is_written(
    tmp_path, capsys, monkeypatch
):
    crash_for("b", monkeypatch)
    portfolio, out = write(tmp_path / "p.json", FOUR), tmp_path / "out"
    code = main(["assess", str(portfolio), "--all", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert "p.json: row 2 (id b): (row): not processed: RuntimeError: disk on fire" in err
    assert "assessed 3 account(s)" in err and "1 rows not processed" in err
    assert sorted(p.name for p in out.iterdir()) == ["a.en.md", "c.en.md", "d.en.md"]
    crash_for("a", monkeypatch)  # every row failing is a failure, not a partial success
    one = write(tmp_path / "one.json", [FOUR[0]])
    code = main(["assess", str(one), "--all"])
    assert code == 1 and "no account could be assessed (1 rows not processed" in \
        capsys.readouterr().err


def test_list_accounts_names_a_row_it_cannot_score(monkeypatch):
    monkeypatch.setenv("CSM_AS_OF", AS_OF)
    real = tool_surface._score

    def flaky(account, *args):
        if account.id == "acc-037":
            raise ZeroDivisionError("division by zero")
        return real(account, *args)

    monkeypatch.setattr(tool_surface, "_score", flaky)
    result = tool_surface.READ_TOOLS["list_accounts"](limit=100)
    listed = json.loads(sample_portfolio_path().read_text("utf-8"))["accounts"]
    row = next(n for n, a in enumerate(listed, start=1) if a["id"] == "acc-037")
    assert result["errors"] == [{"row": row, "id": "acc-037",
                                 "reason": "not scored: ZeroDivisionError: division by zero"}]
    assert result["total"] == len(listed) - 1
    assert "acc-037" not in {a["id"] for a in result["accounts"]}


def test_import_skips_a_row_the_store_refuses_and_names_it(
    tmp_path, capsys, monkeypatch, store_db
):
    portfolio = tmp_path / "p.jsonl"
    portfolio.write_text('{"id": "a", "name": "A"}\n'
                         '{"id": "bad", "name": "B", "note": "\\ud800"}\n'
                         '{"id": "c", "name": "C"}\n', encoding="utf-8")
    db = store_db
    code = main(["import", str(portfolio), "--db", str(db)])
    out, err = capsys.readouterr()
    assert code == 2
    assert "imported 2 accounts" in out and "(1 rows rejected)" in out
    assert "p.jsonl: row 2 (id bad)" in err
    store = open_store(db)
    assert store.fetch("SELECT id FROM accounts ORDER BY id") == [("a",), ("c",)]
    store.close()
    monkeypatch.setenv("CSM_DB", str(db))  # the tool writes to the workspace's store
    result = tool_surface.WRITE_TOOLS["write_import_portfolio"](path=str(portfolio))
    assert result["imported"] == 2 and result["rejected_rows"] == 1
    assert result["rejected"][0]["row"] == 2 and result["rejected"][0]["id"] == "bad"


@pytest.mark.parametrize("content", ["id,name,mrr\n,,-1\nx,,\n", "id,name\n"])
def test_import_of_a_file_without_one_good_row_fails(tmp_path, capsys, content):
    portfolio = tmp_path / "p.csv"
    portfolio.write_text(content, encoding="utf-8")
    code = main(["import", str(portfolio), "--db", str(tmp_path / "s.db")])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("csm: error:") == 1 and "no account could be read" in err
    with pytest.raises(tool_surface.ToolError, match="no account could be imported"):
        tool_surface.WRITE_TOOLS["write_import_portfolio"](path=str(portfolio))


# sweep odds and ends ---------------------------------------------------------------------


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_workers_must_be_at_least_one(tmp_path, capsys, value):
    portfolio = write(tmp_path / "p.json", FOUR)
    code = main(["sweep", str(portfolio), "--workers", value])
    err = capsys.readouterr().err
    assert code == 1 and "argument --workers:" in err.splitlines()[-1]
    assert not (tmp_path / "csm.sqlite3").exists()


def test_a_second_sweep_into_a_new_folder_writes_every_report_there(tmp_path, capsys, store_db):
    portfolio, db = write(tmp_path / "p.json", FOUR), store_db
    expected = ["a.en.md", "b.en.md", "c.en.md", "d.en.md", "portfolio.json", "portfolio.md"]
    for folder in ("first", "second", "second"):
        code = main(sweep_args(portfolio, db, tmp_path / folder, "--workers", "1"))
        out, err = capsys.readouterr()
        assert code == 0, err
        printed = Path(out.rsplit("portfolio report: ", 1)[1].strip())
        assert printed == (tmp_path / folder / "portfolio.md").resolve() and printed.exists()
        assert sorted(p.name for p in (tmp_path / folder).iterdir()) == expected
    assert "nothing to do" in err  # the third run: same inputs, same folder
    store = open_store(db)
    sweep = store.sweep(AS_OF)
    assert store.fetch("SELECT count(*) FROM sweeps")[0][0] == 1
    assert {Path(p).parent for p in store.report_files(sweep["id"]).values()} == {
        (tmp_path / "second").resolve()}
    store.close()
    assert sorted(p.name for p in (tmp_path / "first").iterdir()) == expected  # left as it was


def test_duplicate_ids_first_row_wins_everywhere(tmp_path, capsys, store_db):
    rows = [{"id": "a", "name": "First"}, {"id": "b", "name": "Beta"},
            {"id": " a ", "name": "Second"}]
    portfolio, out, db = write(tmp_path / "p.json", rows), tmp_path / "out", store_db
    code = main(sweep_args(portfolio, db, out, "--workers", "1"))
    err = capsys.readouterr().err
    assert code == 2
    assert "p.json: row 3 (id a): id: duplicate id, first used in row 1" in err
    assert (out / "a.en.md").read_text("utf-8").startswith("CLIENT: First\n")
    report = json.loads((out / "portfolio.json").read_text("utf-8"))
    assert report["report_files"] == {"a": "a.en.md", "b": "b.en.md"}
    assert [(e["row"], e["id"]) for e in report["rows_not_processed"]] == [(3, "a")]
    store = open_store(db)
    names = {s["id"]: s["name"] for s in store.snapshots(store.sweep(AS_OF)["id"])}
    store.close()
    assert names == {"a": "First", "b": "Beta"}


def stored_snapshots(db: Path | str) -> int:
    """How many snapshots a store holds now (0 before it has its tables)."""
    if isinstance(db, Path) and not db.exists():
        return 0
    try:
        store = open_store(db)
    except StoreError:
        return 0  # the schema is being created
    try:
        return int(store.fetch("SELECT count(*) FROM snapshots")[0][0])
    finally:
        store.close()


def test_a_killed_sweep_is_incomplete_and_resumes(tmp_path, store_db):
    portfolio = tmp_path / "big.jsonl"
    write_portfolio(generate_accounts(400, 3, date(2026, 11, 20)), portfolio)
    db, out = store_db, tmp_path / "out"
    argv = [sys.executable, "-m", "agent.interfaces.cli",
            *sweep_args(portfolio, db, out, "--workers", "1", "--as-of", AS_OF)]
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 300
        done = 0
        while done == 0:
            assert child.poll() is None, child.stderr.read().decode()
            assert time.monotonic() < deadline, "the sweep stored nothing in 300 s"
            time.sleep(0.05)
            done = stored_snapshots(db)
        store = open_store(db)
        assert store.sweep(AS_OF)["status"] == "running"  # alive and holding the lock
        store.close()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stderr.close()
    store = open_store(db)
    deadline = time.monotonic() + 30  # the server ends the killed process's session
    while store.sweep_running() and time.monotonic() < deadline:
        time.sleep(0.05)
    row = store.sweep(AS_OF)
    stored = store.fetch("SELECT status FROM sweeps")[0][0]
    store.close()
    assert stored == "running" and row["status"] == "incomplete"  # stale: nobody holds the lock
    assert 0 < len(list(out.glob("*.en.md"))) < 400
    code = main(sweep_args(portfolio, db, out, "--workers", "1", "--as-of", AS_OF, "--resume"))
    assert code == 0
    store = open_store(db)
    row = store.sweep(AS_OF)
    store.close()
    assert (row["status"], row["accounts"]) == ("complete", 400)
    assert len(list(out.glob("*.en.md"))) == 400 and not list(out.glob(".*"))


def test_a_new_sweep_marks_a_stale_running_one_incomplete(store_db):
    store = open_store(store_db)
    store.start_sweep("2026-11-13", "daily", "x", "h", "1")
    assert store.sweep("2026-11-13")["status"] == "incomplete"  # read as stale
    store.lock()
    assert store.sweep("2026-11-13")["status"] == "incomplete"  # and now stored so
    assert store.fetch("SELECT status FROM sweeps")[0][0] == "incomplete"
    store.close()
