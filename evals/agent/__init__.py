"""Agent evals: chat tasks in English and Russian with the tool calls they need and graded answers,
plus the report-prose checks, run against any configured model or, offline, the scripted one
(`python -m evals.agent --model provider:model`, or `--model scripted`)."""
