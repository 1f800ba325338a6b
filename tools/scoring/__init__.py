"""Scoring (SPEC 2-6, 9): churn risk, health, early-warning signals, expansion matrix, the
complete score of one account, and the portfolio metrics."""
