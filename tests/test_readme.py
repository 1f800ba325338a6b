"""The README's first commands are what CI runs."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ci_runs_the_readme_test_command():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    block = lines[lines.index("```bash") + 1 : lines.index("```", lines.index("```bash") + 1)]
    commands = [line for line in block if line and not line.startswith("#")]
    assert len(commands) == 2, "the README opens with an install+run and a test command"
    assert "csm score" in commands[0] and "pytest" in commands[1]
    assert commands[1] in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
