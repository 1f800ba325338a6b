"""csm-agent evals."""
