"""`python -m evals`: run the scoring evals."""

import sys

from evals.runner import main

if __name__ == "__main__":
    sys.exit(main())
