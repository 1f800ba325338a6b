"""portfolio.html in the sweep's report language: every phrase of the page has its Russian
wording (prompts/reports/ru/html.yaml), a Russian sweep writes the page in Russian with the
report's currency sign, and the tools' English methods and reasons give way to the Russian
report's own wording (the macros of prompts/reports/ru/_portfolio.j2)."""

from __future__ import annotations

import html
import inspect
import json
import re
from pathlib import Path

import pytest
from markupsafe import Markup

from agent.interfaces.cli import main
from agent.sweeps import portfolio_html
from tools.portfolio.readers import sample_portfolio_path
from tools.scoring.portfolio_metrics import NO_BASELINE

# w("...") in the template and the module (a Jinja literal may escape its quote)
PHRASE = re.compile(r'\bw\("((?:[^"\\]|\\.)*)"')
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _phrases() -> set[str]:
    sources = [portfolio_html._resource("portfolio.html.j2"), inspect.getsource(portfolio_html)]
    return {m.group(1).replace("\\'", "'") for s in sources for m in PHRASE.finditer(s)}


# phrases the page words from values: the routine, target names, statuses, alert kinds, ids
DYNAMIC = {
    "daily sweep", "weekly sweep", "met", "missed", "not measurable", NO_BASELINE,
    "tier change", "color change", "new signal", "upsell not recommended", "expected",
    *portfolio_html.TARGET_NAMES.values(),
}


def test_every_phrase_of_the_page_has_its_russian_wording():
    wording = portfolio_html.phrases("ru")
    phrases = _phrases()
    assert len(phrases) > 80
    assert not (phrases | DYNAMIC) - set(wording)
    assert not set(wording) - phrases - DYNAMIC  # no wording left over
    for english, russian in wording.items():
        # a wording fills in what the English is given (a number of days also as words)
        assert set(PLACEHOLDER.findall(russian)) <= set(PLACEHOLDER.findall(english)) | {"days"}
        assert russian.strip() and russian != english


def test_a_phrase_escapes_its_values_and_one_without_wording_is_an_error():
    w = portfolio_html.phrase("ru")
    said = w("Portfolio report, {as_of}", as_of="<b>&")
    assert isinstance(said, Markup) and said == "Отчёт по портфелю, &lt;b&gt;&amp;"
    assert portfolio_html.phrase("en")("as of {day}", day="<i>") == "as of &lt;i&gt;"
    with pytest.raises(KeyError, match="html.yaml has no wording of 'no such phrase'"):
        w("no such phrase")


def _sweeps(tmp_path: Path, lang: str) -> str:
    """Two weekly sweeps of the sample three months apart (MRR up 10%, one account gone, one
    row broken), in `lang`; the second one's portfolio.html."""
    sample = json.loads(sample_portfolio_path().read_text(encoding="utf-8"))
    db = tmp_path / f"{lang}.sqlite3"
    for day, factor in (("2026-08-20", 1.0), ("2026-11-20", 1.1)):
        accounts = [{**a, "mrr": a["mrr"] * factor} if a.get("mrr") else a
                    for a in sample["accounts"] if a["id"] != "acc-040" or factor == 1.0]
        accounts.append({"id": "broken", "name": "Broken", "mrr": "lots"})
        path = tmp_path / f"{day}.json"
        path.write_text(json.dumps({"as_of": day, "accounts": accounts}), encoding="utf-8")
        main(["sweep", str(path), "--db", str(db), "--out", str(tmp_path / lang / day),
              "--workers", "1", "--weekly", "--no-reports", "--lang", lang])
    return (tmp_path / lang / "2026-11-20" / "portfolio.html").read_text(encoding="utf-8")


def _text(page: str) -> str:
    """The page's words: no style, no account names or ids (inside <bdi>), no tags."""
    page = re.sub(r"<style>.*?</style>|<bdi>.*?</bdi>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_a_russian_sweep_writes_portfolio_html_in_russian(tmp_path, capsys):
    page = _sweeps(tmp_path, "ru")
    english = _sweeps(tmp_path, "en")
    capsys.readouterr()
    assert page.startswith("<!doctype html>") and '<html lang="ru">' in page
    assert "₽" in page and " RUB" not in page and " RUB" in english
    text = _text(page)
    for heading in ("Отчёт по портфелю, 2026-11-20 (еженедельный обзор)", "Распределение",
                    "Оповещения с прошлого обзора", "Продления в ближайшие", "Удержание и цели",
                    "Ушли за период (1)", "Прогноз на ближайшие 90 дней",
                    "Воронка допродаж", "Истории успеха", "Необработанные строки (1)"):
        assert heading in text, heading
    # no phrase of the English page is left, and the tools' English methods gave way
    for phrase in _phrases() | DYNAMIC:
        if not PLACEHOLDER.search(phrase) and len(phrase) > 12:
            assert phrase not in text, phrase
    for english_method in ("annualised GRR = period GRR", "from the snapshot of",
                           "tier cadence:", "account(s) with known MRR"):
        assert english_method not in text and english_method in _text(english)
    assert "ритм уровня «" in text and "годовой GRR = GRR за период" in text
    # the figures are those of the English page, in the Russian number format
    figures = dict(re.findall(r'data-figure="([a-z-]+)">([^<]*)<', page))
    english_figures = dict(re.findall(r'data-figure="([a-z-]+)">([^<]*)<', english))
    assert figures.keys() == english_figures.keys() and len(figures) >= 5
    for key, value in english_figures.items():
        digits = re.sub(r"\D", "", value)
        assert re.sub(r"\D", "", figures[key]) == digits, key


def test_the_trend_over_the_sweeps_is_worded_in_russian_too(tmp_path, capsys):
    """The trend (the web app passes it; a sweep's file has none) in a Russian page."""
    _sweeps(tmp_path, "ru")
    capsys.readouterr()
    report = json.loads((tmp_path / "ru" / "2026-11-20" / "portfolio.json").read_text("utf-8"))
    retention = report["metrics"]["retention"]
    trend = [{"as_of": "2026-08-20", "grr": None, "nrr": None, "annual_grr": None,
              "period": None},
             {"as_of": "2026-11-20", "grr": retention["grr"], "nrr": retention["nrr"],
              "annual_grr": retention["annual_grr"], "period": "2026-08-20 — 2026-11-20"}]
    from tools.playbook import load_playbook

    text = _text(str(portfolio_html.report_sections(report, load_playbook(), "ru", trend=trend)))
    assert "GRR и NRR по обзорам" in text and "нет более раннего обзора" in text
    assert "цель годового удержания" in text and "GRR (за период)" in text
