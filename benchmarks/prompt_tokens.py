"""Tokens in the prompt of each report's model call (system prompt plus request), per report.

    python -m benchmarks.prompt_tokens [--langs en ru]

Runs the assessment graph over the 40 accounts of the bundled sample with a scripted model that
records what it is sent (no server, no key) and prints, per report and language, the mean and
the largest prompt over the accounts and the prompt of acc-037. Tokens are counted with
tiktoken's `o200k_base` when its encoding loads (it is downloaded once, then cached), else with
`bpe_openai` (the same encoding, shipped inside the package) when installed, else estimated as
characters / 4; the first line says which. Run it from another checkout (`PYTHONPATH=DIR`) to
compare two versions of the prompts."""

from __future__ import annotations

import argparse
import statistics
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from agent.assessment.context import AssessmentContext
from agent.assessment.graph import build_graph
from agent.assessment.writer import REPORTS
from tests.scripted_model import ScriptedChatModel, prose_answer
from tools.portfolio.readers import numbered_accounts, sample_portfolio_path

AS_OF = "2026-11-20"


def counter() -> tuple[str, Callable[[str], int]]:
    """The best token counter available here, and its name."""
    try:
        import tiktoken

        encoding = tiktoken.get_encoding("o200k_base")
        return "tiktoken o200k_base", lambda text: len(encoding.encode(text))
    except Exception:  # noqa: BLE001 - not installed, or its encoding cannot be downloaded
        pass
    try:
        import bpe_openai

        encoding = bpe_openai.get_encoding("o200k_base")
        return "bpe_openai o200k_base", lambda text: len(encoding.encode(text))
    except Exception:  # noqa: BLE001 - not installed
        pass
    return "estimate: characters / 4", lambda text: (len(text) + 3) // 4


def prompts(lang: str) -> dict[str, dict[str, int]]:
    """Report -> account id -> tokens of its prompt, over the sample portfolio."""
    from datetime import date

    name, count = counter()
    _, rows = numbered_accounts(sample_portfolio_path())
    accounts = [a for _, a in rows if not isinstance(a, list)]
    graph = build_graph(checkpointer=None)
    found: dict[str, dict[str, int]] = defaultdict(dict)
    for account in accounts:
        model = ScriptedChatModel(script=[prose_answer("Fine.") for _ in range(5)], calls=[])
        context = AssessmentContext(as_of=date.fromisoformat(AS_OF), lang=lang, model=model)
        graph.invoke({"account": account}, context=context)
        for messages in model.calls:
            text = "\n".join(str(m.content) for m in messages)
            report = _report_of(messages)
            found[report][account.id] = count(text)
    return found


def _report_of(messages: list[Any]) -> str:
    import json

    return str(json.loads(str(messages[-1].content))["report"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--langs", nargs="+", default=["en", "ru"], choices=["en", "ru"])
    args = parser.parse_args()
    print(f"tokens counted with {counter()[0]}")
    print("| report | lang | mean | max | acc-037 |\n| --- | --- | --- | --- | --- |")
    for lang in args.langs:
        found = prompts(lang)
        for report in REPORTS:
            values = list(found[report].values())
            per_account = found[report]
            print(f"| {report} | {lang} | {statistics.mean(values):.0f} | {max(values)} "
                  f"| {per_account.get('acc-037', '-')} |")


if __name__ == "__main__":
    main()
