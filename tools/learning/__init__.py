"""Outcomes and learning (SPEC 14): history files, labels and the time split, backtests of the
playbook against fitted models, and the model file that carries a fitted model to scoring."""
