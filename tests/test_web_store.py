"""`csm serve` on either store: the same sweeps read from a SQLite file and from a PostgreSQL
server (tests/pg.py) give the same pages and the same JSON, and a store URL that cannot be used
is one sentence without its password."""

from __future__ import annotations

import json
import os
import re
from html import escape, unescape
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from agent.interfaces.cli import main
from agent.interfaces.web.app import create_app
from agent.interfaces.web.data import ServeSettings
from tests.conftest import new_store
from tests.pg import PASSWORD
from tests.procs import free_port
from tools.paths import masked_url
from tools.portfolio.readers import sample_portfolio_path

DAYS = (("2026-08-20", 1.0), ("2026-11-20", 1.1))  # two sweeps: a trend, a history
TIMES = {"started_at", "finished_at"}  # when each sweep ran: differs between the two stores
SECRET = "Hunter2-secret"


def sweep_twice(db: Path | str, folder: Path, out: Path, capsys) -> None:
    """The sample swept on two days (a quarter apart, MRR up 10 %, acc-040 gone from the
    second file) into a store; the reports go to `out`, the same folder for every store."""
    sample = json.loads(sample_portfolio_path().read_text(encoding="utf-8"))
    for day, factor in DAYS:
        accounts = [{**a, "mrr": a["mrr"] * factor} if a.get("mrr") else a
                    for a in sample["accounts"] if a["id"] != "acc-040" or factor == 1.0]
        path = folder / f"{day}.json"
        path.write_text(json.dumps({"as_of": day, "accounts": accounts}), encoding="utf-8")
        code = main(["sweep", str(path), "--db", str(db), "--out", str(out / day),
                     "--workers", "1"])
        assert code == 0, capsys.readouterr().err


def served(db: Path | str) -> dict[str, object]:
    """Every JSON answer and page `csm serve --db DB` gives for the two sweeps, with the two
    things that name the server rather than the data made alike: the store's name in the
    source line, and the CSRF token (an HMAC under a key each server makes at start)."""
    shown = str(db) if isinstance(db, Path) else masked_url(db)
    found: dict[str, object] = {}
    with TestClient(create_app(ServeSettings(db=db))) as client:
        for name, url, params in (
            ("api portfolio", "/api/portfolio", {}),
            ("api accounts", "/api/accounts", {"per_page": 200}),
            ("api accounts, filtered", "/api/accounts", {"tier": "high", "sort": "mrr"}),
            ("api sweeps", "/api/sweeps", {}),
            ("api sweep", "/api/sweeps/2026-08-20", {}),
            ("api account", "/api/account", {"id": "acc-037"}),
            ("api account gone", "/api/account", {"id": "acc-040"}),
            ("portfolio", "/", {}),
            ("portfolio, page 2", "/", {"per_page": 10, "page": 2}),
            ("account", "/account", {"id": "acc-001"}),
            ("sweeps", "/sweeps", {}),
            ("sweep html", "/sweeps/2026-11-20", {}),
            ("sweep md", "/sweeps/2026-08-20/portfolio.md", {}),
        ):
            response = client.get(url, params=params)
            assert response.status_code == 200, (name, response.text[:300])
            text = response.text.replace(shown, "STORE").replace(escape(shown), "STORE")
            text = re.sub(r'(data-csrf|name="csrf" value)="[0-9a-f]+"', r'\1="TOKEN"', text)
            found[name] = _without_times(json.loads(text)) if name.startswith("api") else text
    return found


def _without_times(answer: object) -> object:
    """A JSON answer without the sweeps' start and finish times."""
    if isinstance(answer, dict):
        return {k: _without_times(v) for k, v in answer.items() if k not in TIMES}
    if isinstance(answer, list):
        return [_without_times(v) for v in answer]
    return answer


def test_serve_shows_the_same_pages_and_json_from_sqlite_and_postgresql(
    tmp_path, capsys, monkeypatch, request
):
    monkeypatch.delenv("CSM_AS_OF", raising=False)
    out = tmp_path / "out"
    answers = {}
    for kind in ("sqlite", "postgres"):
        db = new_store(kind, tmp_path, request)
        sweep_twice(db, tmp_path, out, capsys)
        (tmp_path / f"out-{kind}").mkdir()
        out.rename(tmp_path / f"out-{kind}" / "out")
        answers[kind] = served(db)
    sqlite, postgres = answers["sqlite"], answers["postgres"]
    # the comparison means something: both sweeps, every account, a trend, an absent account
    portfolio = sqlite["api portfolio"]
    assert portfolio["source"] == {"kind": "store", "label": "the store STORE",
                                   "as_of": "2026-11-20", "sweep": "2026-11-20",
                                   "sweep_is_private": False}
    assert [p["as_of"] for p in portfolio["trend"]] == ["2026-08-20", "2026-11-20"]
    assert portfolio["report"]["accounts"] == 39 and sqlite["api accounts"]["total"] == 39
    assert [s["as_of"] for s in sqlite["api sweeps"]["sweeps"]] == ["2026-11-20", "2026-08-20"]
    assert 0 < sqlite["api accounts, filtered"]["total"] < 39
    assert [p["date"] for p in sqlite["api account"]["history"] if p["source"] == "sweep"
            ] == ["2026-08-20", "2026-11-20"]
    assert "last swept on 2026-08-20" in sqlite["api account gone"]["absent"]
    assert 'id="accounts-table"' in sqlite["portfolio"] and "the store STORE" in sqlite[
        "portfolio"]
    written = json.loads((tmp_path / "out-sqlite/out/2026-11-20/portfolio.json").read_text(
        encoding="utf-8"))
    assert portfolio["report"] == written  # what `csm sweep` wrote, as before
    for name, answer in sqlite.items():
        assert postgres[name] == answer, name


# the command -------------------------------------------------------------------------------


def test_csm_serve_db_url_serves_the_postgresql_store(pg_server, tmp_path, capsys, monkeypatch):
    """`csm serve --db URL`: the server is reached before it starts, its chat tools read the
    same store (CSM_DB), and the app reads the sweep from it; uvicorn is replaced by one
    request through the test client."""
    import uvicorn

    url = pg_server.new_database()
    request_done = {}
    sweep_twice(url, tmp_path, tmp_path / "out", capsys)
    capsys.readouterr()

    def one_request(app, **_):
        with TestClient(app) as client:
            request_done["portfolio"] = client.get("/api/portfolio").json()

    for name in ("CSM_DB", "CSM_PORTFOLIO", "CSM_AS_OF"):  # serve sets them: unset after
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    monkeypatch.setattr(uvicorn, "run", one_request)
    try:
        assert main(["serve", "--db", url, "--port", str(free_port())]) == 0
    finally:
        pg_server.drop_database(url)
    err = capsys.readouterr().err
    assert f"csm serve: the store {masked_url(url)}, as of 2026-11-20; read-only" in err, err
    assert os.environ["CSM_DB"] == url
    report = request_done["portfolio"]["report"]
    assert report["as_of"] == "2026-11-20" and report["accounts"] == 39


@pytest.mark.parametrize("given", ["--db", "CSM_DB"])
def test_serve_says_a_bad_store_url_in_one_sentence_without_the_password(
    given, pg_server, capsys, monkeypatch
):
    for url, says in (
        (pg_server.tcp_url(password=SECRET), "password authentication failed"),
        (f"postgresql://csm:{SECRET}@127.0.0.1:{free_port()}/csm", "Connection refused"),
        (f"mysql://csm:{SECRET}@db.example/csm", "mysql://...: not a store csm-agent can open"),
    ):
        monkeypatch.setenv("CSM_DB", url if given == "CSM_DB" else "")
        code = main(["serve", "--port", str(free_port()), *(
            ["--db", url] if given == "--db" else [])])
        out, err = capsys.readouterr()
        assert code == 1, err
        lines = err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("csm: error: "), err
        assert says in err and "Traceback" not in err, err
        assert SECRET not in out + err and PASSWORD not in out + err


def test_the_import_form_writes_into_the_postgresql_store_it_serves(pg_server, monkeypatch):
    url = pg_server.new_database()
    monkeypatch.setenv("CSM_DB", url)
    upload = {"portfolio": ("p.json", b'[{"id": "n-1", "name": "New"}]', "application/json")}
    try:
        with TestClient(create_app(ServeSettings(db=url, allow_writes=True))) as client:
            token = re.search(r'name="csrf" value="([0-9a-f]+)"',
                              client.get("/import").text).group(1)
            done = client.post("/import", files=upload, data={"csrf": token})
            assert done.status_code == 200 and "Imported 1 accounts" in done.text
            page = client.get("/api/accounts").json()
            assert page["source"]["kind"] == "store"
            assert page["source"]["label"] == f"the store {masked_url(url)}"
            assert [r["id"] for r in page["accounts"]] == ["n-1"]
            monkeypatch.setenv("CSM_DB", pg_server.url("postgres"))  # another store: refused
            token = re.search(r'name="csrf" value="([0-9a-f]+)"',
                              client.get("/import").text).group(1)
            other = client.post("/import", files=upload, data={"csrf": token})
            assert other.status_code == 409 and masked_url(url) in unescape(other.text)
    finally:
        pg_server.drop_database(url)
