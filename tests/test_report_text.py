"""Every sample report reads as written by a person: Markdown that renders with a heading per
report and the seed's lines kept as lines, numbers in the language's format, plurals that
agree, no line or clause said twice; in English and Russian, and the portfolio report too."""

import json
import re
from pathlib import Path

import pytest

from agent.interfaces.cli import main
from tests.report_text import (
    LABEL,
    MD,
    merged_label_paragraphs,
    repeated_clauses,
    repeated_lines,
    unformatted_numbers,
)
from tools.portfolio.readers import sample_portfolio_path
from tools.texts import NBSP, count, format_number, plural

TITLES = {
    "en": ["Client Health Dashboard", "Success Plan", "Expansion Proposal",
           "Risk Mitigation Plan", "QBR Agenda"],
    "ru": ["Панель здоровья клиента", "План успеха", "Предложение о расширении",
           "План снижения рисков", "Повестка QBR"],
}
# The first lines of each prescribed format, in order (seeds/002 and SPEC 12).
FIRST_LINES = {
    "en": [["CLIENT:", "HEALTH SCORE:", "RENEWAL DATE:", "ARR:"], ["SUCCESS PLAN:"],
           ["EXPANSION PROPOSAL:"], ["RISK MITIGATION PLAN:"], ["QBR AGENDA:", "Status:"]],
    "ru": [["КЛИЕНТ:", "ОЦЕНКА ЗДОРОВЬЯ:", "ДАТА ПРОДЛЕНИЯ:", "ARR:"], ["ПЛАН УСПЕХА:"],
           ["ПРЕДЛОЖЕНИЕ О РАСШИРЕНИИ:"], ["ПЛАН СНИЖЕНИЯ РИСКОВ:"],
           ["ПОВЕСТКА QBR:", "Статус:"]],
}


# --- numbers and plurals (tools/texts.py) ------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "digits", "en", "ru"),
    [
        (960000, 0, "960,000", f"960{NBSP}000"),
        (303963.5, 2, "303,963.5", f"303{NBSP}963,5"),
        (75.41, 2, "75.41", "75,41"),
        (31.0, 2, "31", "31"),
        (-42.4, 1, "-42.4", "-42,4"),
        (1234567.891, 2, "1,234,567.89", f"1{NBSP}234{NBSP}567,89"),
        (-0.001, 2, "0", "0"),
    ],
)
def test_numbers_in_each_language(value, digits, en, ru):
    assert format_number(value, "en", digits) == en
    assert format_number(value, "ru", digits) == ru


@pytest.mark.parametrize(
    ("n", "form"),
    [(1, "день"), (2, "дня"), (4, "дня"), (5, "дней"), (11, "дней"), (12, "дней"),
     (14, "дней"), (21, "день"), (22, "дня"), (25, "дней"), (101, "день"), (111, "дней"),
     (112, "дней"), (0, "дней"), (1.5, "дня"), (-1, "день")],
)
def test_russian_plurals_have_three_forms(n, form):
    assert plural(n, "ru", ("день", "дня", "дней")) == form


@pytest.mark.parametrize(("n", "text"), [(1, "1 day"), (2, "2 days"), (0, "0 days"),
                                         (1.5, "1.5 days"), (21, "21 days")])
def test_english_plurals(n, text):
    assert count(n, "en", ("day", "days")) == text


# --- the checks themselves fail on what they look for --------------------------------------


def test_the_checks_find_template_speak():
    assert repeated_clauses(
        "- propose on 2026-12-23, at the next QBR on 2026-12-23: propose on 2026-12-23"
    ) == ["propose on 2026-12-23"]
    initiatives = (
        "KEY INITIATIVES:\n"
        "- share stories: low churn-risk tier intervention (churn risk 18.64); monthly\n"
        "- surveys: low churn-risk tier intervention (churn risk 18.64); monthly\n"
    )
    assert repeated_lines(initiatives) == ["low churn-risk tier intervention (churn risk "
                                           "18.64); monthly"]
    assert unformatted_numbers("+500000 RUB/month, 9600 visits, 960,000 RUB on 2026-11-20, "
                               "acc-004, Q4 2026", "en") == ["500000", "9600"]
    assert unformatted_numbers("ROI 75,41% and 0.65", "en") == ["75,41"]
    assert unformatted_numbers(f"0.0992 и 75,41 и 960{NBSP}000 ₽ и 9600", "ru") == [
        "0.0992", "9600"]
    assert merged_label_paragraphs("CLIENT: A\nHEALTH SCORE: Green (70/100)\n") == ["CLIENT: A"]
    assert merged_label_paragraphs("CLIENT: A  \nHEALTH SCORE: Green (70/100)\n") == []
    assert merged_label_paragraphs("SUMMARY:\nThe account is green.\n") == ["SUMMARY:"]


# --- every sample report -------------------------------------------------------------------


@pytest.fixture(scope="module", params=["en", "ru"])
def swept(request, tmp_path_factory) -> tuple[str, Path]:
    """The sample portfolio swept once per language: one report file per account and the
    portfolio report."""
    lang = request.param
    folder = tmp_path_factory.mktemp(f"reports-{lang}")
    code = main(["sweep", str(sample_portfolio_path()), "--db", str(folder / "s.db"),
                 "--out", str(folder / "out"), "--lang", lang, "--weekly"])
    assert code == 0
    return lang, folder / "out"


def account_files(folder: Path, lang: str) -> list[Path]:
    files = sorted(folder.glob(f"*.{lang}.md"))
    assert len(files) == 40
    return files


def test_each_report_is_a_section_with_the_seed_lines_as_lines(swept):
    lang, folder = swept
    for path in account_files(folder, lang):
        text = path.read_text("utf-8")
        tokens = MD.parse(text)
        headings = [tokens[i + 1].content for i, t in enumerate(tokens)
                    if t.type == "heading_open" and t.tag == "h2"]
        assert headings == TITLES[lang], path.name
        assert merged_label_paragraphs(text) == [], path.name
        parts = [p for p in re.split(r"(?m)^## .*\n", text) if p.strip()]
        for part, first in zip(parts, FIRST_LINES[lang], strict=True):
            lines = [x.rstrip() for x in part.strip().splitlines()[: len(first)]]
            assert [x.split(":")[0] + ":" for x in lines] == first, (path.name, lines)
        # the header lines render as separate lines of one block (hard breaks)
        header = next(t for t in tokens if t.type == "inline" and t.content.startswith(
            FIRST_LINES[lang][0][0]))
        assert [c.type for c in header.children].count("hardbreak") == 3, path.name
        # every format label is its own line, never inside a paragraph with other text
        for token in tokens:
            if token.type == "inline" and LABEL.match(token.content):
                label_lines = token.content.split("\n")
                assert all(LABEL.match(x) or x.startswith(("Status:", "Статус:"))
                           for x in label_lines), (path.name, token.content[:80])


def test_no_repeated_line_or_clause_and_every_number_formatted(swept):
    lang, folder = swept
    problems: list[str] = []
    for path in [*account_files(folder, lang), folder / "portfolio.md"]:
        text = path.read_text("utf-8")
        parts = [p for p in re.split(r"(?m)^## ", text) if p.strip()]
        problems += [f"{path.name}: number {n}" for n in unformatted_numbers(text, lang)]
        for part in parts:
            problems += [f"{path.name}: line {x}" for x in repeated_lines(part)]
            problems += [f"{path.name}: clause {x}" for x in repeated_clauses(part)]
        problems += [f"{path.name}: plural {x}" for x in re.findall(
            r"\b1 (?:days|weeks|months|accounts|offers|signals)\b|\(s\)|\(ies\)", text)]
    assert problems == []


def test_the_portfolio_report_is_in_the_sweep_language(swept):
    lang, folder = swept
    text = (folder / "portfolio.md").read_text("utf-8")
    tokens = MD.parse(text)
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert len(headings) >= 9
    if lang == "ru":
        assert all(re.search("[а-яё]", h) for h in headings), headings
        english = re.findall(r"\b(?:accounts?|Total|Method|none|tier|expected|renewal|"
                             r"contact|due|overdue|held|months?|days?)\b", text)
        assert english == []
        assert "₽" in text and "RUB" not in text
    else:
        assert headings[0].startswith("Portfolio report, 2026-11-20")
        assert " RUB" in text and "₽" not in text


def test_no_falling_score_among_the_achievements(swept):
    # acc-004's health fell from 76.3 (2026-10-24) to 75.41: a trend under the goals, never
    # an achievement of the quarter
    lang, folder = swept
    text = (folder / f"acc-004.{lang}.md").read_text("utf-8")
    achievements = next(x for x in text.splitlines() if x.strip().startswith(
        ("- top three achievements", "- три ключевых достижения")))
    assert "76.3" not in achievements and "76,3" not in achievements
    goals = next(x for x in text.splitlines() if x.strip().startswith(
        ("- progress against strategic goals", "- прогресс по стратегическим целям")))
    assert ("down 0.89 since 2026-10-24 (76.3)" in goals if lang == "en"
            else "снизилась на 0,89 с 2026-10-24 (76,3)" in goals)


def test_an_overdue_qbr_says_when_it_was_due(swept):
    # acc-007: last QBR 2026-05-21 + 90 days = 2026-08-19, 93 days before 2026-11-20
    lang, folder = swept
    text = (folder / f"acc-007.{lang}.md").read_text("utf-8")
    if lang == "en":
        assert ("QBR completion overdue (last QBR 2026-05-21; was due 2026-08-19, 93 days "
                "overdue; next planned 2026-11-27)") in text
        assert "Status: overdue, was due 2026-08-19 (93 days ago)" in text
    else:
        assert ("проведение QBR: просрочено (последний QBR: 2026-05-21; срок был 2026-08-19, "
                "просрочен на 93 дня; следующий назначен на 2026-11-27)") in text


def test_the_upsell_pipeline_counts_recommended_offers_only(swept):
    # Recommended in the sample (expansion.recommend): content marketing for acc-002, acc-010,
    # acc-018 (300,000 x 0.55 = 165,000 each), link building for acc-006 and acc-027 (800,000 x
    # 0.45 = 360,000 each), local SEO for acc-026 (200,000 x 0.7 = 140,000), technical SEO for
    # acc-009 (500,000 x 0.65 = 325,000) = 1,680,000 a month; acc-035's technical SEO is
    # recommended but held (high tier). The other 21 matched offers are not recommended now.
    lang, folder = swept
    report = json.loads((folder / "portfolio.json").read_text("utf-8"))
    assert report["upsell_expected_total"] == 1_680_000  # 5,030,000 before offers were judged
    assert {k: v["accounts"] for k, v in report["upsell_pipeline"].items()} == {
        "content_marketing": 3, "link_building": 2, "local_seo": 1, "technical_seo": 1}
    assert report["upsell_held_total"] == 325_000
    assert sum(v["accounts"] for v in report["upsell_not_recommended"].values()) == 21
    assert report["forecast"]["expected_expansion"] == 1_680_000


def test_the_model_summaries_section_in_each_language(swept):
    from agent.sweeps.portfolio_report import render_portfolio_report
    from tools.playbook import load_playbook

    lang, folder = swept
    report = json.loads((folder / "portfolio.json").read_text("utf-8"))
    report["model_summaries"] = {
        "reports_asked": 10, "reports_fell_back": 3, "reasons": {"timeout": 2, "numbers": 1},
        "reason_texts": {"timeout": "the model did not answer in time",
                         "numbers": "the model quoted numbers the tools did not compute"},
        "accounts": [{"id": "acc-001", "name": "A", "reports": 3, "kinds": ["timeout"]}],
        "accounts_total": 1,
    }
    text = render_portfolio_report(report, load_playbook(), lang)
    if lang == "ru":
        assert "## Резюме от модели (без модели: 3 из 10)" in text
        assert "- 2 × модель не ответила вовремя (timeout)" in text
        assert "Из 10 резюме, запрошенных у модели, 3 составлено без модели" in text
    else:
        assert "## Model summaries (3 of 10 fell back)" in text
        assert "3 of the 10 summaries asked of the model fell back to the deterministic ones, " \
               "in 1 account;" in text
    assert unformatted_numbers(text, lang) == [] and merged_label_paragraphs(text) == []
