"""Accounts and portfolios: the account model, the readers and writers of portfolio files, the
plausibility review and the synthetic sample generator."""
