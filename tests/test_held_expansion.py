"""Offers the expansion proposal holds back (churn tier in `expansion.hold_tiers`) and offers it
does not recommend (`expansion.recommend`) count in no forecast: not in the forecast NRR, not in
the upsell pipeline; the portfolio report shows each apart."""

import json

from agent.interfaces.cli import main

# mrr alone sets the churn score here: (500,000 - mrr) / 500,000 x 100. No traffic and no
# budget: the ROI and budget checks are not made, the price against MRR is.
# H: mrr 150,000 -> churn 70, tier high (held). Matched: local_seo (8 > 5 locations) 200,000
#    = 1.33 x MRR, recommended: 200,000 x 0.7 = 140,000 a month held back; technical_seo
#    (technical_score 50 < 70, mrr < 1,000,000) would take the increase to 700,000 = 4.67 x
#    MRR (expansion.recommend.max_price_to_mrr 2): not recommended, 325,000.
# M: mrr 300,000 -> churn 40, tier medium; technical_seo 500,000 = 1.67 x MRR, recommended:
#    500,000 x 0.65 = 325,000 counted.
ACCOUNTS = [
    {"id": "H", "name": "Held", "mrr": 150_000, "technical_score": 50, "locations": 8},
    {"id": "M", "name": "Medium", "mrr": 300_000, "technical_score": 50},
]


def test_held_and_declined_offers_stay_out_of_the_forecast_and_the_pipeline(tmp_path, capsys):
    portfolio = tmp_path / "p.json"
    portfolio.write_text(json.dumps({"as_of": "2026-11-20", "accounts": ACCOUNTS}), "utf-8")
    out = tmp_path / "out"
    code = main(["sweep", str(portfolio), "--db", str(tmp_path / "s.db"), "--out", str(out),
                 "--workers", "1", "--no-reports"])
    assert code == 0, capsys.readouterr().err
    report = json.loads((out / "portfolio.json").read_text("utf-8"))
    assert report["upsell_pipeline"] == {
        "technical_seo": {"accounts": 1, "expected": 325_000,
                          "offer": "extended technical SEO package"},
    }
    assert report["upsell_expected_total"] == 325_000  # the old code said 790,000
    assert report["upsell_held"] == {
        "local_seo": {"accounts": 1, "expected": 140_000, "offer": "multi-location SEO"},
    }
    assert report["upsell_held_total"] == 140_000
    assert report["upsell_not_recommended"] == {
        "technical_seo": {"accounts": 1, "expected": 325_000,
                          "offer": "extended technical SEO package"},
    }
    assert report["upsell_not_recommended_total"] == 325_000
    forecast = report["forecast"]
    # No renewal date and no signal: both renew within the quarter at 1 - churn / 100.
    # Expected churned MRR: H 150,000 x (1 - 0.3) = 105,000; M 300,000 x (1 - 0.6) = 120,000;
    # total 225,000 of MRR 450,000. Expected expansion: M's 325,000 only.
    # GRR = (450,000 - 225,000) / 450,000 = 0.5
    # NRR = (450,000 + 325,000 - 225,000) / 450,000 = 550,000 / 450,000 = 1.2222
    # (counting every matched offer would add H's 465,000: 1,015,000 / 450,000 = 2.2556)
    assert (forecast["current_mrr"], forecast["expected_churned_mrr"]) == (450_000, 225_000)
    assert (forecast["expected_expansion"], forecast["held_expansion"]) == (325_000, 140_000)
    assert (forecast["grr"], forecast["nrr"]) == (0.5, 1.2222)
    markdown = (out / "portfolio.md").read_text("utf-8")
    assert ("expected expansion 325,000 RUB a month (140,000 RUB a month more is held back "
            "while the churn tier is high or critical, not counted).") in markdown
    assert "- Total: 325,000 RUB\n" in markdown
    assert "- Held total: 140,000 RUB\n" in markdown
    assert "- Not recommended total: 325,000 RUB\n" in markdown
