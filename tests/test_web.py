"""`csm serve` through the ASGI test client: every figure from the tools, filters and sorting,
account pages equal to `csm score`, hostile text escaped, the token, read-only mode and CSRF,
the chat panel with a scripted model, and a store with several sweeps."""

from __future__ import annotations

import json
import re
import socket
from html import unescape
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from langchain_core.messages import AIMessage

from agent.interfaces.cli import main
from agent.interfaces.web.app import create_app
from agent.interfaces.web.data import ServeSettings
from agent.interfaces.web.pages import account_url
from agent.interfaces.web.security import CSRF_HEADER
from agent.interfaces.web.table import Filters, select
from agent.sweeps.portfolio_html import render_portfolio_html, report_sections
from agent.sweeps.portfolio_report import render_portfolio_report
from tests.procs import free_port
from tests.scripted_model import ScriptedChatModel
from tools.playbook import load_playbook
from tools.portfolio.readers import sample_portfolio_path

AS_OF = "2026-11-20"
HOSTILE = [
    {"id": "<script>alert(1)</script>", "name": "<img src=x onerror=alert(2)>", "mrr": 90000},
    {"id": "=cmd|' /C calc'!A0", "name": "=HYPERLINK(\"http://evil.example\")", "mrr": 1000},
    {"id": "rtl-\u202etxt.exe", "name": "Evil \u202eCorp\u2066 \x1b[31mred", "mrr": 5000},
    {"id": "../x", "name": "Parent & <b>bold</b>", "mrr": 7000},
    {"id": "a/b", "name": "Slash \"quoted\" 'single'", "mrr": 8000},
    {"id": "..", "name": "Dots", "mrr": 9000},
    {"id": "new\nline", "name": "Line\nbreak", "mrr": 10000},
]


def hostile_portfolio(folder: Path) -> Path:
    """The sample portfolio plus accounts whose ids and names are hostile text."""
    sample = json.loads(sample_portfolio_path().read_text(encoding="utf-8"))
    sample["accounts"] = sample["accounts"] + HOSTILE
    path = folder / "hostile.json"
    path.write_text(json.dumps(sample, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def hostile_file(tmp_path_factory) -> Path:
    return hostile_portfolio(tmp_path_factory.mktemp("web-hostile"))


@pytest.fixture(scope="module")
def client(hostile_file, knowledge_index_dir, tmp_path_factory):
    """One server for the module, over the sample plus the hostile accounts, no model."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CSM_DATA_DIR", str(tmp_path_factory.mktemp("web-data")))
        patch.setenv("CSM_KNOWLEDGE_DIR", str(knowledge_index_dir))
        patch.delenv("CSM_MODEL", raising=False)
        app = create_app(ServeSettings(portfolio=hostile_file))
        with TestClient(app) as test_client:
            yield test_client


def csm_score(capsys, path: Path) -> dict[str, dict]:
    """`csm score PATH --format json`, by account id."""
    capsys.readouterr()
    main(["score", str(path), "--format", "json"])
    return {a["id"]: a for a in json.loads(capsys.readouterr().out)["accounts"]}


def text_of(html: str) -> str:
    """The page's text, tags removed, entities decoded."""
    return unescape(re.sub(r"<[^>]+>", " ", html))


# every number from the tools ------------------------------------------------------------


def test_portfolio_report_is_the_sweeps_portfolio_json(client, hostile_file, tmp_path, capsys):
    served = client.get("/api/portfolio").json()
    out = tmp_path / "reports"
    code = main(["sweep", str(hostile_file), "--db", str(tmp_path / "s.sqlite3"), "--out",
                 str(out), "--workers", "1", "--no-reports"])
    assert code == 0, capsys.readouterr().err
    written = json.loads((out / "portfolio.json").read_text(encoding="utf-8"))
    report = served["report"]
    for key in ("sweep_id", "report_files"):
        report.pop(key), written.pop(key)
    assert report == written
    assert served["source"]["kind"] == "file" and served["source"]["sweep_is_private"]

    page = text_of(client.get("/").text)
    assert f"{written['accounts']} accounts swept" in " ".join(page.split())
    assert f"{written['mrr']:,.0f} RUB" in page
    assert f"{written['forecast']['expected_churned_mrr']:,.0f} RUB" in page
    html = (out / "portfolio.html").read_text(encoding="utf-8")
    assert f"{written['mrr']:,.0f} RUB" in html
    assert "<script" not in html and "<img" not in html and "\u202e" not in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html  # a hostile name in the work queue


def test_account_page_shows_the_numbers_of_csm_score(client, capsys):
    scores = csm_score(capsys, sample_portfolio_path())
    for account_id in ("acc-037", "acc-001", "acc-014"):
        expected = scores[account_id]
        api = client.get("/api/account", params={"id": account_id}).json()
        assert api["assessment"]["score"] == expected
        html = client.get("/account", params={"id": account_id}).text
        figure = dict(re.findall(r'data-figure="([a-z-]+)">([^<]*)<', html))
        assert figure["health"] == _num(expected["health"]["score"])
        assert figure["churn"] == _num(expected["churn_risk"]["score"])
        assert figure["tier"] == expected["churn_risk"]["tier"]
        assert figure["color"] == expected["health"]["color"]
        for part in expected["health"]["components"]:
            row = re.search(rf'data-component="{part["id"]}">(.*?)</tr>', html, re.S).group(1)
            assert f'data-value="score">{_num(part["score"])}<' in row
            assert f'data-value="contribution">{_num(part["contribution"])}<' in row
        for factor in expected["churn_risk"]["factors"]:
            row = re.search(rf'data-factor="{factor["id"]}">(.*?)</tr>', html, re.S).group(1)
            assert f'data-value="contribution">{_num(factor["contribution"])}<' in row


def _num(value: float) -> str:
    """The reports' number format (2 decimals, trailing zeros trimmed)."""
    text = f"{value:,.2f}"
    return text.rstrip("0").rstrip(".")


def test_offers_say_whether_they_are_recommended_and_why(client):
    for account_id in ("acc-004", "acc-010"):
        expansion = client.get("/api/account", params={"id": account_id}).json()[
            "assessment"]["expansion"]
        html = client.get("/account", params={"id": account_id}).text
        shown = re.findall(r'data-offer="([a-z_]+)">.*?data-value="recommended">([^<]*)<', html,
                           re.S)
        expected = [(o["id"], "yes") for o in expansion["offers"]] + [
            (o["id"], "not now") for o in expansion["not_recommended"]]
        assert shown == expected and shown
        for offer in expansion["not_recommended"]:
            assert offer["fit"]["reason"] in unescape(html)


def test_account_page_has_every_part(client):
    html = client.get("/account", params={"id": "acc-037"}).text
    for anchor in ("health", "churn", "signals", "opportunities", "stakeholders", "forecast",
                   "history", "reports"):
        assert f'id="{anchor}"' in html, anchor
    for report in ("dashboard", "success_plan", "expansion_proposal", "risk_plan",
                   "qbr_agenda"):
        assert f'id="report-{report}"' in html
    assert "<svg" in html and "Reporting tree" in html and "Method" not in html[:100]
    assert "portfolio history" in html  # the sample's history points
    assert "renewal probability" in html.lower()


def test_each_report_is_titled_once_in_its_own_language(client):
    """The summary line of a report is the report's own heading, not a second copy above it."""
    for lang, title in (("en", "Client Health Dashboard"), ("ru", "Панель здоровья клиента")):
        html = client.get("/account", params={"id": "acc-037", "lang": lang}).text
        start = html.index('id="reports"')
        reports = html[start:html.rindex("</details>") + len("</details>")]
        assert f"<summary>{title}</summary>" in reports
        assert reports.count(title) == 1
        assert reports.count("<summary>") == 5 and "<h2>" not in reports


def _links(html: str) -> list[str]:
    return [unescape(h) for h in re.findall(r'href="([^"]+)"', html)]


def test_the_portfolio_and_its_sweeps_report_in_russian_and_keep_the_language(client):
    """`?lang=ru`: the portfolio report's sections in Russian (the page's own words stay
    English, as on an account page), and every link of the page that leads to an account, a
    sort, a page of the table or the sweep's report keeps the language; the sweep's own
    portfolio.html and portfolio.md are the Russian ones `csm sweep --lang ru` writes."""
    served = client.get("/api/portfolio").json()
    report, trend, playbook = served["report"], served["trend"], load_playbook()
    query = {"sort": "mrr", "page": 2, "per_page": 2}
    page = client.get("/", params={"lang": "ru", **query}).text
    for part in ("summary", "details"):
        expected = report_sections(report, playbook, "ru", link=lambda i: account_url(i, "ru"),
                                   trend=trend, headline=False, part=part)
        assert f'<div lang="ru">{expected}</div>' in page
    links = _links(page)
    accounts = [h for h in links if h.startswith("/account?")]
    table = [h for h in links if h.startswith("/?")]
    assert accounts and all(h.endswith("&lang=ru") for h in accounts)
    back = "/?sort=mrr&page=2&per_page=2"  # to English, the filters kept
    assert back in links
    assert len(table) >= 10 and all("lang=ru" in h for h in table if h != back)
    assert "/?sort=mrr&per_page=2&lang=ru#accounts" in table  # the previous page
    assert "/?sort=mrr&page=3&per_page=2&lang=ru#accounts" in table  # the next
    assert f"/sweeps/{report['as_of']}?lang=ru" in links
    assert '<input type="hidden" name="lang" value="ru">' in page
    assert {"/?lang=ru", "/sweeps?lang=ru"} <= set(links)  # the menu
    account = _links(client.get("/account", params={"id": "acc-037", "lang": "ru"}).text)
    assert {"/?lang=ru", "/sweeps?lang=ru"} <= set(account)
    english = client.get("/", params=query).text
    assert [h for h in _links(english) if "lang=" in h] == [back + "&lang=ru"]

    sweeps = _links(client.get("/sweeps", params={"lang": "ru"}).text)
    assert f"/sweeps/{report['as_of']}?lang=ru" in sweeps
    assert f"/sweeps/{report['as_of']}/portfolio.md?lang=ru" in sweeps
    html = client.get(f"/sweeps/{report['as_of']}", params={"lang": "ru"}).text
    assert html == render_portfolio_html(report, playbook, "ru", trend=trend)
    markdown = client.get(f"/sweeps/{report['as_of']}/portfolio.md", params={"lang": "ru"})
    assert markdown.text == render_portfolio_report(report, playbook, "ru")
    assert markdown.text != client.get(f"/sweeps/{report['as_of']}/portfolio.md").text
    wrong = client.get("/", params={"lang": "de"})
    assert wrong.status_code == 400 and "lang: Input should be 'en' or 'ru'" in text_of(wrong.text)


# the accounts table ---------------------------------------------------------------------


def test_filters_keep_only_matching_rows(client):
    every = client.get("/api/accounts", params={"per_page": 500}).json()
    assert every["total"] == 47
    report = client.get("/api/portfolio").json()["report"]
    critical = client.get("/api/accounts", params={"tier": "critical"}).json()
    assert critical["total"] == report["tiers"]["critical"] < every["total"]
    assert {r["tier"] for r in critical["accounts"]} == {"critical"}
    red = client.get("/api/accounts", params={"color": "red", "industry": "saas"}).json()
    assert red["total"] and all(r["color"] == "red" and r["industry"] == "saas"
                                for r in red["accounts"])
    window = client.get("/api/accounts", params={"renewal": "window"}).json()
    assert window["total"] == report["renewals_total"]
    spike = client.get("/api/accounts", params={"signal": "support_spike"}).json()
    assert spike["total"] and all("support_spike" in r["signals"] for r in spike["accounts"])
    found = client.get("/api/accounts", params={"q": "KVARTAL"}).json()
    assert [r["id"] for r in found["accounts"]] == ["acc-021"]
    html = client.get("/", params={"tier": "critical"}).text
    assert len(re.findall(r'<tr data-id="', html)) == report["tiers"]["critical"]


def test_sorting_orders_rows_and_puts_unknown_last(client):
    by_mrr = client.get("/api/accounts", params={"sort": "mrr", "order": "asc",
                                                 "per_page": 500}).json()["accounts"]
    known = [r["mrr"] for r in by_mrr if r["mrr"] is not None]
    assert known == sorted(known)
    down = client.get("/api/accounts", params={"sort": "churn", "per_page": 500}).json()
    scores = [r["churn_score"] for r in down["accounts"] if r["churn_score"] is not None]
    assert scores == sorted(scores, reverse=True)
    rows = [{"id": "b", "name": "B", "mrr": None}, {"id": "a", "name": "A", "mrr": 5.0},
            {"id": "c", "name": "C", "mrr": 7.0}]
    rows = [{**r, "tier": None, "color": None, "signals": [], "industry": None,
             "renewal_date": None, "in_renewal_window": False} for r in rows]
    for order in ("asc", "desc"):
        shown, total = select(rows, Filters(sort="mrr", order=order))
        assert shown[-1]["id"] == "b" and total == 3
    page2, _ = select(rows, Filters(sort="name", order="asc", per_page=2, page=2))
    assert [r["id"] for r in page2] == ["c"]


def test_a_bad_query_value_is_one_sentence(client):
    response = client.get("/api/accounts", params={"tier": "purple"})
    assert response.status_code == 400 and "tier" in response.json()["error"]
    page = client.get("/", params={"page": "abc"})
    assert page.status_code == 400 and "page" in text_of(page.text)
    missing = client.get("/account", params={"id": "no-such"})
    assert missing.status_code == 404
    assert "no account with id 'no-such'" in unescape(missing.text)


# hostile text ---------------------------------------------------------------------------


def test_hostile_ids_and_names_render_as_text(client):
    html = client.get("/", params={"sort": "mrr", "order": "asc", "per_page": 500}).text
    assert "<script>alert" not in html and "<img src=x" not in html and "<b>bold" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html
    assert "\u202e" not in html and "\x1b" not in html and "\u2066" not in html
    assert "Evil Corp" in html and "=cmd|&#39; /C calc&#39;!A0" in html
    for account in HOSTILE:
        page = client.get("/account", params={"id": account["id"]})
        assert page.status_code == 200, account["id"]
        assert "<script>alert" not in page.text and "<img src=x" not in page.text
        assert "\u202e" not in page.text
        api = client.get("/api/account", params={"id": account["id"]}).json()
        assert api["id"] == account["id"]  # JSON keeps the data as it is


def test_pages_forbid_inline_script_and_foreign_sources(client):
    for url in ("/", "/account?id=acc-001", "/sweeps", "/api/docs"):
        response = client.get(url)
        assert response.status_code == 200, url
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "<script>" not in response.text  # only <script src="/static/app.js">
        assert not re.search(r'(src|href)="(https?:)?//', response.text), url
    report = client.get(f"/sweeps/{AS_OF}")
    assert "script-src" not in report.headers["content-security-policy"]
    assert "<script" not in report.text and "<style>" in report.text


# security -------------------------------------------------------------------------------


def test_a_token_guards_every_request(hostile_file):
    secret = "s3cret-token-of-24-chars"
    app = create_app(ServeSettings(portfolio=hostile_file, token=secret), loopback_only=False)
    with TestClient(app) as c:
        assert c.get("/api/sweeps").status_code == 401
        assert "CSM_WEB_TOKEN" in c.get("/").text
        bearer = c.get("/api/sweeps", headers={"authorization": f"Bearer {secret}"})
        assert bearer.status_code == 200
        wrong = c.get("/api/sweeps", headers={"authorization": "Bearer nope"})
        assert wrong.status_code == 401
        login = c.get(f"/sweeps?token={secret}", follow_redirects=False)
        assert login.status_code == 303 and login.headers["location"] == "/sweeps"
        assert c.get("/sweeps").status_code == 200  # the cookie it set


def test_loopback_server_refuses_other_host_names(client):
    assert client.get("/", headers={"host": "evil.example"}).status_code == 400
    assert client.get("/api/sweeps", headers={"host": "127.0.0.1:8000"}).status_code == 200


def test_read_only_unless_allowed_and_writes_need_csrf(client, tmp_path, monkeypatch):
    assert client.get("/import").status_code == 403
    upload = {"portfolio": ("p.json", b'[{"id": "n-1", "name": "New"}]', "application/json")}
    assert client.post("/import", files=upload).status_code == 403

    db = tmp_path / "store.sqlite3"
    monkeypatch.setenv("CSM_DB", str(db))
    app = create_app(ServeSettings(db=db, allow_writes=True))
    with TestClient(app) as c:
        form = c.get("/import").text
        token = re.search(r'name="csrf" value="([0-9a-f]+)"', form).group(1)
        refused = c.post("/import", files=upload, data={"csrf": "0" * 64})
        assert refused.status_code == 403 and not db.exists()
        done = c.post("/import", files=upload, data={"csrf": token})
        assert done.status_code == 200 and "Imported 1 accounts" in done.text
        page = c.get("/api/accounts").json()
        assert page["source"]["kind"] == "store"
        assert [r["id"] for r in page["accounts"]] == ["n-1"]


# the chat panel -------------------------------------------------------------------------


def test_without_a_model_the_panel_says_how_to_configure_one(client):
    html = client.get("/account", params={"id": "acc-037"}).text
    assert 'id="chat-off"' in html and "the chat panel needs a model" in html
    assert 'id="chat-form"' not in html
    token = re.search(r'data-csrf="([0-9a-f]+)"', html).group(1)
    lines = client.post("/api/chat", json={"message": "hi"}, headers={CSRF_HEADER: token})
    events = [json.loads(line) for line in lines.text.splitlines()]
    assert events[0]["type"] == "error" and "CSM_MODEL" in events[0]["text"]


def test_chat_answers_with_tools_in_the_account_thread(tmp_path, monkeypatch):
    monkeypatch.setenv("CSM_AS_OF", AS_OF)
    monkeypatch.delenv("CSM_PORTFOLIO", raising=False)
    call = AIMessage(content="", tool_calls=[{"name": "score_account", "id": "c1",
                                              "type": "tool_call",
                                              "args": {"account_id": "acc-037"}}])
    model = ScriptedChatModel(script=[call, "acc-037 has a churn risk of 84.21."], calls=[])
    app = create_app(ServeSettings(), chat_model=model)
    with TestClient(app) as c:
        page = c.get("/account", params={"id": "acc-037"}).text
        token = re.search(r'data-csrf="([0-9a-f]+)"', page).group(1)
        assert c.post("/api/chat", json={"message": "How is it?", "account": "acc-037"}
                      ).status_code == 403  # no CSRF token
        response = c.post("/api/chat", json={"message": "How is it?", "account": "acc-037"},
                          headers={CSRF_HEADER: token})
        events = [json.loads(line) for line in response.text.splitlines()]
        assert {"type": "tool", "name": "score_account"} in events
        answer = "".join(e["text"] for e in events if e["type"] == "token")
        assert answer == "acc-037 has a churn risk of 84.21." and events[-1]["type"] == "done"
        sent = model.calls[0][-1].content
        assert 'account id "acc-037" named "Dobrye Ruki Foundation"' in sent
        again = c.get("/account", params={"id": "acc-037"}).text
        log = re.search(r'<ol class="chat-log".*?</ol>', again, re.S).group(0)
        assert "How is it?" in log and "84.21" in log and "csm serve:" not in log
        other = c.get("/account", params={"id": "acc-001"}).text
        assert "How is it?" not in re.search(r'<ol class="chat-log".*?</ol>', other,
                                             re.S).group(0)


# a store with sweeps --------------------------------------------------------------------


def test_store_with_sweeps_has_trend_history_and_reports(tmp_path, monkeypatch, capsys):
    sample = json.loads(sample_portfolio_path().read_text(encoding="utf-8"))
    db = tmp_path / "csm.sqlite3"
    for day, factor in (("2026-08-20", 1.0), ("2026-11-20", 1.1)):
        accounts = [{**a, "mrr": a["mrr"] * factor} if a.get("mrr") else a
                    for a in sample["accounts"] if a["id"] != "acc-040" or factor == 1.0]
        path = tmp_path / f"{day}.json"
        path.write_text(json.dumps({"as_of": day, "accounts": accounts}), encoding="utf-8")
        assert main(["sweep", str(path), "--db", str(db), "--out", str(tmp_path / day),
                     "--workers", "1"]) == 0, capsys.readouterr().err
    html = (tmp_path / "2026-11-20" / "portfolio.html").read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>") and "<svg" in html and "<script" not in html
    assert not re.search(r'(src|href)="(https?:)?//', html)

    monkeypatch.delenv("CSM_AS_OF", raising=False)
    app = create_app(ServeSettings(db=db))
    with TestClient(app) as c:
        sweeps = c.get("/api/sweeps").json()
        assert [s["as_of"] for s in sweeps["sweeps"]] == ["2026-11-20", "2026-08-20"]
        assert sweeps["source"]["kind"] == "store"
        portfolio = c.get("/api/portfolio").json()
        retention = portfolio["report"]["metrics"]["retention"]
        assert retention["grr"] is not None
        assert portfolio["trend"][-1]["grr"] == retention["grr"]
        assert "GRR and NRR over the sweeps" in c.get("/").text
        page = c.get("/sweeps").text
        assert 'data-sweep="2026-08-20"' in page and "/sweeps/2026-08-20/portfolio.md" in page
        assert c.get("/sweeps/2026-08-20/portfolio.md").text.startswith("# Portfolio report")
        account = c.get("/api/account", params={"id": "acc-001"}).json()
        swept = [p for p in account["history"] if p["source"] == "sweep"]
        assert [p["date"] for p in swept] == ["2026-08-20", "2026-11-20"]
        gone = c.get("/api/account", params={"id": "acc-040"}).json()  # not in the last file
        assert gone["assessment"] is None and "last swept on 2026-08-20" in gone["absent"]
        assert [p["date"] for p in gone["history"] if p["source"] == "sweep"] == ["2026-08-20"]
        assert "last swept on 2026-08-20" in c.get("/account", params={"id": "acc-040"}).text
        assert c.get("/sweeps/2027-01-01").status_code == 404


# the command ----------------------------------------------------------------------------


def test_serve_refuses_other_hosts_without_a_long_token(monkeypatch, capsys):
    monkeypatch.delenv("CSM_WEB_TOKEN", raising=False)
    assert main(["serve", "--host", "0.0.0.0"]) == 1
    assert "needs an access token: set CSM_WEB_TOKEN" in capsys.readouterr().err
    monkeypatch.setenv("CSM_WEB_TOKEN", "short")
    assert main(["serve", "--host", "0.0.0.0"]) == 1
    assert "16 or more" in capsys.readouterr().err
    monkeypatch.delenv("CSM_WEB_TOKEN")
    assert main(["serve", "missing.json"]) == 1
    assert "file not found" in capsys.readouterr().err


def test_serve_names_a_port_in_use(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 1
    assert f"--port {port}: cannot listen there" in capsys.readouterr().err


def test_openapi_lists_the_api_and_the_docs_page_shows_it(client):
    spec = client.get("/api/openapi.json").json()
    assert {"/api/portfolio", "/api/accounts", "/api/account", "/api/sweeps",
            "/api/sweeps/{as_of}", "/api/chat"} <= set(spec["paths"])
    docs = client.get("/api/docs").text
    assert "/api/accounts" in docs and "per_page" in docs


def test_csm_serve_serves_the_bundled_sample(tmp_path, knowledge_index_dir):
    """The command itself, as a user starts it: stderr says what it serves, pages answer."""
    import os
    import subprocess
    import sys
    import time

    import httpx

    port = free_port()
    env = {**os.environ, "CSM_DATA_DIR": str(tmp_path / "data"),
           "CSM_KNOWLEDGE_DIR": str(knowledge_index_dir)}
    for name in ("CSM_MODEL", "CSM_PORTFOLIO", "CSM_DB", "CSM_AS_OF", "CSM_WEB_TOKEN"):
        env.pop(name, None)
    server = subprocess.Popen([sys.executable, "-m", "agent.interfaces.cli", "serve", "--port",
                               str(port)], env=env, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        deadline = time.monotonic() + 120
        while not any("open http://" in line for line in lines):
            assert time.monotonic() < deadline and server.poll() is None, lines
            lines.append(server.stderr.readline())
        said = "".join(lines)
        assert "the bundled sample portfolio, as of 2026-11-20; read-only" in said
        assert "chat off: no model configured" in said
        base = f"http://127.0.0.1:{port}"
        for _ in range(50):
            try:
                page = httpx.get(base + "/", timeout=30)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert page.status_code == 200 and 'id="accounts-table"' in page.text
        account = httpx.get(base + "/account", params={"id": "acc-037"}, timeout=60)
        assert 'data-figure="churn">84.21<' in account.text
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert not (tmp_path / "data" / "csm.sqlite3").exists()  # read-only: no store made


def test_component_and_factor_bars_take_the_playbooks_bands():
    """A health component's bar has the colour of the playbook's health band its score falls in,
    a churn factor's the colour of its churn tier: a playbook with other bands colours them
    otherwise (the bands are the playbook's numbers, not the page's)."""
    import yaml

    from agent.interfaces.web.render import churn_chart, health_chart
    from agent.sweeps.charts import COLORS
    from tools.playbook import default_playbook_path, load_playbook, parse_playbook

    data = yaml.safe_load(default_playbook_path().read_text(encoding="utf-8"))
    data["health"]["colors"] = [{"id": "green", "min": 90, "max": 100},
                                {"id": "yellow", "min": 60, "max": 89},
                                {"id": "red", "min": 0, "max": 59}]
    for tier, (low, high) in zip(data["churn_risk"]["tiers"],
                                 [(0, 9), (10, 19), (20, 29), (30, 100)], strict=True):
        tier.update(min=low, max=high)
    strict = parse_playbook(data, "test")
    health = {"components": [{"label": "Engagement", "score": 80.0, "contribution": 20.0}],
              "missing": []}
    churn = {"factors": [{"label": "Payments", "risk": 25.0, "contribution": 5.0}],
             "missing": []}

    def fills(svg: str) -> set[str]:
        return set(re.findall(r"#[0-9a-f]{6}", svg))

    assert fills(health_chart(health, str, load_playbook())) == {COLORS["green"]}
    assert fills(health_chart(health, str, strict)) == {COLORS["yellow"]}
    assert fills(churn_chart(churn, str, load_playbook())) == {COLORS["low"]}
    assert fills(churn_chart(churn, str, strict)) == {COLORS["high"]}
