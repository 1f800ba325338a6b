"""`csm serve` in a real browser (Chromium through Playwright): pages load without console
errors, sorting and filtering change the rows, an account page shows `csm score`'s numbers,
the chat panel streams a scripted answer, hostile names stay text, and screenshots of the
portfolio and an account page are saved under artifacts/."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import httpx

from agent.interfaces.cli import main
from tests.browser.conftest import ARTIFACTS, CHAT_ANSWER, HOSTILE

AS_OF = "2026-11-20"


def _ids(page) -> list[str]:
    return page.locator("#accounts-table tbody tr[data-id]").evaluate_all(
        "rows => rows.map(r => r.dataset.id)"
    )


def _api(served, path: str, **params) -> dict:
    return httpx.get(f"{served.url}{path}", params=params, timeout=30).json()


def test_every_page_loads_without_console_errors(served, watched):
    page = watched.page
    pages = ["/", "/account?id=acc-037", "/account?id=acc-001&lang=ru", "/sweeps",
             f"/sweeps/{AS_OF}", "/api/docs", "/account?" + urlencode({"id": HOSTILE[1]["id"]}),
             "/?lang=ru", "/sweeps?lang=ru", f"/sweeps/{AS_OF}?lang=ru"]
    for path in pages:
        response = page.goto(served.url + path)
        assert response is not None and response.status == 200, path
        page.wait_for_load_state("load")
    assert watched.errors == [] and watched.dialogs == []


def test_sorting_changes_the_rows(served, watched):
    page = watched.page
    page.goto(served.url + "/")
    by_churn = _ids(page)
    with page.expect_navigation():
        page.click('#accounts-table th a[data-sort="mrr"]')
    by_mrr_down = _ids(page)
    assert by_mrr_down != by_churn
    expected = _api(served, "/api/accounts", sort="mrr", order="desc")["accounts"]
    assert by_mrr_down == [a["id"] for a in expected]
    with page.expect_navigation():
        page.click('#accounts-table th a[data-sort="mrr"]')
    expected = _api(served, "/api/accounts", sort="mrr", order="asc")["accounts"]
    assert _ids(page) == [a["id"] for a in expected]
    assert "▲" in page.inner_text('#accounts-table th a[data-sort="mrr"]')
    assert watched.errors == []


def test_filtering_changes_the_rows(served, watched):
    page = watched.page
    page.goto(served.url + "/")
    everyone = _ids(page)
    with page.expect_navigation():
        page.select_option("#f-tier", "critical")  # applies on change
    critical = _ids(page)
    expected = _api(served, "/api/accounts", tier="critical")
    assert critical == [a["id"] for a in expected["accounts"]] and critical != everyone
    badges = page.locator("#accounts-table tbody tr td:nth-child(5) .badge").all_inner_texts()
    assert set(badges) == {"critical"}
    page.goto(served.url + "/")
    page.fill("#f-q", "kvartal")
    with page.expect_navigation():
        page.click("#f-apply")
    assert _ids(page) == ["acc-021"]
    assert "(1 of" in page.inner_text("#accounts-count")
    assert watched.errors == []


def test_a_russian_portfolio_stays_russian_through_filters_and_into_an_account(served, watched):
    page = watched.page
    page.goto(served.url + "/?lang=ru")
    assert page.inner_text("#distribution") == "Распределение"
    with page.expect_navigation():
        page.select_option("#f-tier", "critical")  # the form submits itself on change
    assert "lang=ru" in page.url and "tier=critical" in page.url
    assert page.inner_text("#distribution") == "Распределение"
    first = _ids(page)[0]
    with page.expect_navigation():
        page.click(f'#accounts-table tbody tr[data-id="{first}"] a')
    assert "lang=ru" in page.url
    assert "Панель здоровья клиента" in page.locator("details summary").all_inner_texts()
    with page.expect_navigation():
        page.click("text=reports in English")
    assert "Client Health Dashboard" in page.locator("details summary").all_inner_texts()
    assert watched.errors == []


def _num(value: float) -> str:
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def test_account_page_shows_the_numbers_of_csm_score(served, watched, capsys):
    capsys.readouterr()
    assert main(["score", str(served.portfolio), "--format", "json"]) == 0
    scores = {a["id"]: a for a in json.loads(capsys.readouterr().out)["accounts"]}
    page = watched.page
    for account_id in ("acc-037", "acc-010"):
        expected = scores[account_id]
        page.goto(served.url + "/account?" + urlencode({"id": account_id}))

        def figure(name: str) -> str:
            return page.inner_text(f'[data-figure="{name}"]').strip()

        assert figure("health") == _num(expected["health"]["score"])
        assert figure("color") == expected["health"]["color"]
        assert figure("churn") == _num(expected["churn_risk"]["score"])
        assert figure("tier") == expected["churn_risk"]["tier"]
        for part in expected["health"]["components"]:
            row = page.locator(f'tr[data-component="{part["id"]}"]')
            assert row.locator('[data-value="contribution"]').inner_text() == \
                _num(part["contribution"])
        for factor in expected["churn_risk"]["factors"]:
            row = page.locator(f'tr[data-factor="{factor["id"]}"]')
            assert row.locator('[data-value="risk"]').inner_text() == _num(factor["risk"])
            assert row.locator('[data-value="contribution"]').inner_text() == \
                _num(factor["contribution"])
    assert watched.errors == []


def test_chat_panel_streams_the_answer_with_the_account_in_context(served, watched):
    page = watched.page
    page.goto(served.url + "/account?id=acc-037")
    asked = len(served.model_server.requests)
    page.fill("#chat-input", "What should I do about this client today?")
    page.click("#chat-send")
    answer = page.locator("#chat-log .msg.assistant").last
    answer.wait_for()
    page.wait_for_function(
        "text => [...document.querySelectorAll('#chat-log .msg.assistant')]"
        ".some(m => m.textContent === text)", arg=CHAT_ANSWER,
    )
    request = served.model_server.requests[asked]
    assert request["stream"] is True  # tokens streamed through to the page
    said = json.dumps(request["messages"], ensure_ascii=False)
    assert "acc-037" in said and "What should I do about this client today?" in said
    page.reload()  # the thread is kept: the same browser sees it again
    log = page.inner_text("#chat-log")
    assert "What should I do about this client today?" in log and CHAT_ANSWER in log
    assert "csm serve:" not in log  # the context line is not shown back
    assert watched.errors == []


def test_hostile_names_render_as_text(served, watched):
    page = watched.page
    page.goto(served.url + "/?" + urlencode({"sort": "mrr", "order": "asc", "per_page": 500}))
    for account in HOSTILE:
        link = f'td:first-child a[href="/account?{urlencode({"id": account["id"]})}"]'
        row = page.locator("#accounts-table tbody tr").filter(has=page.locator(link))
        shown = row.locator("td:first-child a").inner_text()
        assert shown == account["name"].replace("\u202e", "")
    page.goto(served.url + "/account?" + urlencode({"id": HOSTILE[0]["id"]}))
    assert page.inner_text("#account-name bdi >> nth=0") == HOSTILE[0]["name"]
    page.goto(served.url + "/account?" + urlencode({"id": HOSTILE[1]["id"]}))
    assert HOSTILE[1]["id"] in page.inner_text("#account-name")
    assert page.evaluate("window.__pwned") is None
    assert watched.dialogs == [] and watched.errors == []


def test_screenshots_of_the_portfolio_and_an_account(served, watched):
    ARTIFACTS.mkdir(exist_ok=True)
    page = watched.page
    page.goto(served.url + "/?sort=mrr")  # the hostile test accounts, whose MRR is small, last
    page.screenshot(path=str(ARTIFACTS / "portfolio.png"))
    page.goto(served.url + "/account?id=acc-037")
    page.fill("#chat-input", "What should I do about this client today?")
    page.click("#chat-send")
    page.wait_for_function(
        "text => [...document.querySelectorAll('#chat-log .msg.assistant')]"
        ".some(m => m.textContent === text)", arg=CHAT_ANSWER,
    )
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / "account.png"))
    page.goto(served.url + "/account?id=acc-037#health")
    page.screenshot(path=str(ARTIFACTS / "account-charts.png"))
    for name in ("portfolio.png", "account.png", "account-charts.png"):
        image = (ARTIFACTS / name).read_bytes()
        assert image.startswith(b"\x89PNG") and len(image) > 20_000
