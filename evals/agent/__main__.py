"""`python -m evals.agent`: the agent evals (chat tasks and report prose) against a model."""

import sys

from evals.agent.run import main

if __name__ == "__main__":
    sys.exit(main())
