"""Content as data (issue 11): the texts an agency words live in the playbook, in English and
Russian; the reports take their sentences from the tools' kinds and ids and those texts, never
from English wording; and the numbers that were constants are playbook keys."""

import copy
import itertools
import json
import pickle
from datetime import date

import pytest
import yaml

from agent.assessment.context import AssessmentContext
from agent.assessment.graph import build_graph
from agent.assessment.writer import REPORTS
from agent.interfaces.cli import main
from tools.planning.stakeholders import map_stakeholders
from tools.planning.success_plan.qbr_figures import FIGURES
from tools.playbook import (
    FIGURE_SETS,
    PlaybookError,
    default_playbook_path,
    load_playbook,
    parse_playbook,
)
from tools.portfolio.account import Account
from tools.portfolio.readers import read_portfolio
from tools.texts import Text, parse_text

AS_OF = date(2026, 11, 20)
SAMPLE = {a.id: a for a in read_portfolio().accounts}


def bundled() -> dict:
    return yaml.safe_load(default_playbook_path().read_text(encoding="utf-8"))


def texts(node):
    """Every playbook text (a {en, ru} mapping) of parsed YAML, with a setter for each."""
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, dict) and "en" in value:
                yield node, key
            else:
                yield from texts(value)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            if isinstance(value, dict) and "en" in value:
                yield node, i
            else:
                yield from texts(value)


def changed(account_id: str, **fields) -> Account:
    """A sample account with some inputs replaced (validated, as a reader would)."""
    return Account.model_validate({**SAMPLE[account_id].model_dump(), **fields})


@pytest.fixture
def book(tmp_path):
    """Writes playbook data to a file of its own and returns the path."""
    numbers = itertools.count()

    def write(data: dict) -> str:
        path = tmp_path / f"playbook-{next(numbers)}.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        return str(path)

    return write


def run(account, playbook: str | None = None, lang: str = "en") -> dict:
    """The six-step graph on one account, offline: no model, no knowledge search."""
    context = AssessmentContext(
        as_of=AS_OF, model="none", lang=lang, playbook=playbook, search=lambda *a, **k: []
    )
    return build_graph(checkpointer=None).invoke({"account": account}, context=context)


def reports(account, playbook: str | None = None, lang: str = "en") -> str:
    written = run(account, playbook, lang)["reports"]
    return "\n".join(getattr(written, name) for name in REPORTS)


def refused(data: dict) -> str:
    with pytest.raises(PlaybookError) as error:
        parse_playbook(data, "custom.yaml")
    return str(error.value)


# --- the text type ----------------------------------------------------------------------------


def test_a_text_is_a_string_or_its_languages():
    plain = parse_text("weekly")
    assert (plain, plain.in_lang("ru"), plain.translations) == ("weekly", "weekly", {})
    both = parse_text({"en": "weekly", "ru": "еженедельно"})
    assert both == "weekly" and both.in_lang("en") == "weekly"
    assert both.in_lang("ru") == "еженедельно"
    assert f"cadence: {both}" == "cadence: weekly"  # the tools compute with the English


def test_a_text_survives_pickling_and_copying():
    text = Text("weekly", {"ru": "еженедельно"})
    for twin in (pickle.loads(pickle.dumps(text)), copy.deepcopy(text)):
        assert (twin, twin.in_lang("ru")) == ("weekly", "еженедельно")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"ru": "еженедельно"}, "needs its English text under 'en'"),
        ({"en": "weekly", "de": "wöchentlich"}, "'de' is not a report language (en, ru)"),
        ({"en": "weekly", "ru": ""}, "the 'ru' text must be a non-empty string"),
        (7, "a text is a string or a mapping of languages"),
    ],
)
def test_a_bad_text_names_its_key(value, message):
    data = bundled()
    data["churn_risk"]["tiers"][1]["cadence"] = value
    error = refused(data)
    assert "key 'churn_risk.tiers.1.cadence'" in error and message in error


def test_the_playbook_dumps_its_texts_in_every_language():
    dumped = load_playbook().model_dump(mode="json")
    assert dumped["churn_risk"]["tiers"][1]["cadence"] == {"en": "weekly", "ru": "еженедельно"}


def test_the_bundled_playbook_words_every_text_in_russian():
    data = bundled()
    found = list(texts(data))
    assert len(found) > 150
    missing = [parent[key] for parent, key in found if not parent[key].get("ru")]
    assert missing == []
    # and no text is left a plain string where a report shows it
    pb = load_playbook()
    shown = [
        *(t.cadence for t in pb.churn_risk.tiers),
        *(i for t in pb.churn_risk.tiers for i in t.interventions),
        *(s.action for s in pb.signals.values()),
        *(item.text for s in pb.qbr.sections for item in s.items),
        *(g.action for g in pb.stakeholders.gaps.values()),
        *pb.success_plan.roles.values(),
        *(o.client_resources for o in pb.expansion.offers.values()),
    ]
    assert all("ru" in t.translations for t in shown)


# --- the Russian report never reads English wording --------------------------------------------


def test_russian_reports_do_not_depend_on_the_english_texts(book):
    """Every English text of the playbook reworded: the Russian reports stay the same."""
    data = bundled()
    for parent, key in texts(data):
        parent[key] = {**parent[key], "en": "Reworded " + parent[key]["en"]}
    reworded = book(data)
    for account_id in ("acc-001", "acc-007", "acc-014", "acc-037", "acc-021"):
        account = SAMPLE[account_id]
        assert reports(account, reworded, "ru") == reports(account, None, "ru")
        assert "Reworded" in reports(account, reworded, "en")


def test_an_english_only_playbook_still_writes_russian_reports(book):
    data = bundled()
    for parent, key in texts(data):
        parent[key] = parent[key]["en"]
    text = reports(SAMPLE["acc-037"], book(data), "ru")
    assert "ПЛАН УСПЕХА" in text  # the templates' own Russian
    assert "emergency, C-level" in text  # the playbook's English, where it has no Russian
    assert "экстренно, на уровне C-level" not in text
    assert "экстренно, на уровне C-level" in reports(SAMPLE["acc-037"], None, "ru")


# --- QBR agenda items: ids and figure sets ---------------------------------------------------


def test_every_figure_set_has_its_figures():
    assert sorted(FIGURES) == sorted(FIGURE_SETS)


def test_a_reworded_agenda_item_keeps_its_figures(book):
    data = bundled()
    item = data["qbr"]["sections"][2]["items"][2]
    assert item["id"] == "risks"
    item["text"] = "what could go wrong"
    plan = run(SAMPLE["acc-037"], book(data))["success_plan"]
    risks = plan.qbr.sections[2].items[2]
    assert risks.text == "what could go wrong"
    assert risks.figures.startswith("churn risk ") and "signals " in risks.figures
    assert risks.line == f"what could go wrong: {risks.figures}"


def test_an_item_without_figures_shows_its_text_only(book):
    data = bundled()
    data["qbr"]["sections"][0]["items"][0]["figures"] = None
    item = run(SAMPLE["acc-001"], book(data))["success_plan"].qbr.sections[0].items[0]
    assert (item.figures, item.line) == (None, "top three achievements of the quarter")


def test_an_unknown_figure_set_names_its_key():
    data = bundled()
    data["qbr"]["sections"][2]["items"][1]["figures"] = "budget"
    error = refused(data)
    assert "key 'qbr.sections.2.items.1.figures'" in error and "'investment'" in error


def test_an_agenda_item_of_an_older_playbook_is_told_what_it_needs():
    data = bundled()
    data["qbr"]["sections"][0]["items"][0] = "top three achievements of the quarter"
    error = refused(data)
    assert "key 'qbr.sections.0.items.0': the agenda item 'top three achievements of the " in error
    assert "needs an id and the figures it shows" in error


def test_two_agenda_items_with_one_id_are_refused():
    data = bundled()
    data["qbr"]["sections"][3]["items"][0]["id"] = "achievements"
    assert "key 'qbr.sections.3.items.0.id': 'achievements' names two agenda items" in refused(data)


# --- owners of onboarding criteria ------------------------------------------------------------


def test_criterion_owners_name_a_criterion_and_a_role():
    data = bundled()
    data["success_plan"]["criterion_owners"]["first_reprot"] = "csm"
    error = refused(data)
    assert "key 'success_plan.criterion_owners.first_reprot'" in error
    assert "not an onboarding success criterion (first_report, " in error
    data = bundled()
    data["success_plan"]["criterion_owners"]["first_report"] = "designer"
    error = refused(data)
    assert "key 'success_plan.criterion_owners.first_report'" in error
    assert "'designer' is not a role of success_plan.roles (csm, seo, client_primary)" in error


def test_a_role_the_code_names_is_required():
    data = bundled()
    del data["success_plan"]["roles"]["seo"]
    assert "roles must name csm, seo, client_primary (missing: seo)" in refused(data)


def test_an_agency_role_owns_a_criterion(book):
    data = bundled()
    data["success_plan"]["roles"]["content"] = {"en": "content lead", "ru": "контент-лид"}
    data["success_plan"]["criterion_owners"]["content_calendar"] = "content"
    account = changed("acc-001", contract_start=date(2026, 10, 1))
    state = run(account, book(data), "ru")
    calendar = next(m for m in state["success_plan"].milestones if m.ref == "content_calendar")
    assert calendar.owner == "content lead"
    assert "(ответственный: контент-лид)" in state["reports"].success_plan


# --- stakeholder gaps -------------------------------------------------------------------------


ANN = {"name": "Ann", "role": "decision_maker", "primary": True}


def test_gap_severity_is_a_playbook_key(book):
    champion_less = changed("acc-001", stakeholders=[ANN])
    data = bundled()
    data["stakeholders"]["gaps"]["no_champion"]["severity"] = "medium"
    gaps = map_stakeholders(champion_less, parse_playbook(data), AS_OF).gaps
    assert [(g.id, g.severity) for g in gaps] == [("no_champion", "medium")]
    plan = run(champion_less, book(data))["success_plan"]
    assert "close_stakeholder_gaps" not in [o.id for o in plan.objectives]
    plan = run(champion_less)["success_plan"]
    assert "close_stakeholder_gaps" in [o.id for o in plan.objectives]


def test_a_gap_action_and_outcome_come_from_the_playbook(book):
    data = bundled()
    gap = data["stakeholders"]["gaps"]["no_champion"]
    gap["action"] = {"en": "recruit a champion", "ru": "найти чемпиона"}
    gap["outcome"] = "a champion on board"
    state = run(changed("acc-001", stakeholders=[ANN]), book(data), "ru")
    plan = state["success_plan"]
    assert "recruit a champion" in [a.action for a in plan.next_actions]
    gaps = next(o for o in plan.objectives if o.id == "close_stakeholder_gaps")
    assert gaps.criterion.endswith(": a champion on board")
    russian = state["reports"].success_plan
    assert "Найти чемпиона (ответственный: CSM аккаунта" in russian
    assert "итог: a champion on board" in russian  # no Russian given: the English


def test_a_gap_action_fills_in_the_person_and_channel():
    late = date(2026, 1, 1)
    people = [
        {**ANN, "preferred_channel": "telegram", "last_contact": late},
        {"name": "Bob", "role": "champion", "preferred_channel": "email", "last_contact": late},
    ]
    state = run(changed("acc-001", stakeholders=people), None, "ru")
    assert "contact Bob (email)" in [a.action for a in state["success_plan"].next_actions]
    assert "Выйти на связь: Bob (эл. почта)" in state["reports"].success_plan


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ("meet {name}", "the en text names {name}; an action may name only {person}, {via}"),
        ("meet {person", "the en text has a brace that is not {person}, {via}"),
        ("meet {person.name}", "the en text has a brace that is not {person}, {via}"),
        ({"en": "meet {person}", "ru": "встреча: {кто}"}, "the ru text names {кто}"),
    ],
)
def test_a_gap_action_names_only_its_placeholders(action, message):
    data = bundled()
    data["stakeholders"]["gaps"]["influential_detractor"]["action"] = action
    error = refused(data)
    assert "key 'stakeholders.gaps.influential_detractor.action'" in error and message in error


# --- retention first: one key -----------------------------------------------------------------


def test_hold_tiers_put_retention_first_in_the_success_plan(book):
    # acc-022, medium churn tier, with the traffic and budget that make local SEO worth
    # proposing: 400,000 x 10% x 30 x 12 = 14,400,000 against 2,400,000 (ROI 500%);
    # (150,000 + 200,000) / 1,000,000 = 35% of the budget
    medium = SAMPLE["acc-022"].model_copy(update={"organic_traffic": 400_000, "budget": 1_000_000})
    data = bundled()
    data["expansion"]["hold_tiers"] = ["medium", "high", "critical"]
    assert parse_playbook(data).open_tiers() == ["low"]
    assert load_playbook().open_tiers() == ["medium", "low"]
    before = run(medium)
    assert before["score"].churn_risk.tier == "medium" and not before["expansion"].hold
    assert "grow_via_opportunity" in [o.id for o in before["success_plan"].objectives]
    state = run(medium, book(data))
    assert state["expansion"].hold
    assert state["success_plan"].objectives[0].id == "reduce_churn_risk"
    assert "grow_via_opportunity" not in [o.id for o in state["success_plan"].objectives]
    assert [i.kind for i in state["success_plan"].initiatives] == ["intervention"]
    assert "is back at low risk" in state["reports"].expansion_proposal
    assert "on hold until the risk tier is low" in state["reports"].dashboard


# --- the portfolio report's numbers -----------------------------------------------------------


def test_portfolio_report_windows_are_playbook_keys(tmp_path, capsys, book):
    data = bundled()
    data["reports"].update(outreach_days=0, qbr_lookahead_days=0, success_stories=1)
    chosen = ["acc-001", "acc-029", "acc-012", "acc-035", "acc-020"]
    portfolio = tmp_path / "p.json"
    portfolio.write_text(
        json.dumps(
            {
                "as_of": AS_OF.isoformat(),
                "accounts": [SAMPLE[i].model_dump(mode="json", exclude_none=True) for i in chosen],
            }
        ),
        encoding="utf-8",
    )
    found = {}
    for name, extra in (("default", []), ("custom", ["--playbook", book(data)])):
        out = tmp_path / name
        argv = [
            "sweep",
            str(portfolio),
            "--db",
            str(tmp_path / f"{name}.sqlite3"),
            "--out",
            str(out),
            "--workers",
            "1",
            "--weekly",
            *extra,
        ]
        assert main(argv) == 0, capsys.readouterr().err
        found[name] = (
            json.loads((out / "portfolio.json").read_text("utf-8")),
            (out / "portfolio.md").read_text("utf-8"),
        )
    default, custom = found["default"][0], found["custom"][0]
    assert default["outreach_total"] > 0 and default["qbrs_total"] > 0
    assert len(default["success_stories"]) == 3
    assert (custom["outreach_total"], custom["qbrs_total"]) == (0, 0)
    assert [s["id"] for s in custom["success_stories"]] == ["acc-029"]
    markdown = found["custom"][1]
    assert "## Outreach plan for the next 0 days (0, by revenue at risk)" in markdown
    assert "- nobody is due in the next 0 days" in markdown
    assert "- none in the next 0 days" in markdown
    assert "## Outreach plan for this week" in found["default"][1]
