"""`python -m evals.churn_data`: the backtest on public churn data (or `--synthetic`)."""

import sys

from evals.churn_data.run import main

if __name__ == "__main__":
    sys.exit(main())
