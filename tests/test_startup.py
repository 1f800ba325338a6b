"""Start-up (issue 15): a command builds only its own parser, and `csm --help`, `csm score` and a
sweep's main process import nothing they do not use (no pydantic for --help; no rich, LangGraph,
LangSmith, Chroma or learning code for a score without colours or a model file; no LangGraph in
a sweep's main process). Structural checks, not timings."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from agent.interfaces.cli import COMMANDS, build_parser
from tools.portfolio.readers import sample_portfolio_path

PROBE = (
    "import json, os, sys\n"
    "from agent.interfaces.cli import main\n"
    "out = sys.stdout\n"
    "sys.stdout = open(os.devnull, 'w', encoding='utf-8')\n"
    "code = main(sys.argv[1:])\n"
    "out.write(json.dumps([code, sorted(sys.modules)]))\n"
)


def _modules(*argv: str, tmp_path) -> tuple[int, set[str]]:
    done = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True,
                          check=True, env={"PATH": "", "CSM_DATA_DIR": str(tmp_path),
                                           "HOME": str(tmp_path)})
    code, modules = json.loads(done.stdout)
    return code, {m.split(".")[0] for m in modules} | set(modules)


def test_each_command_builds_its_own_parser_and_help_builds_all():
    everything = build_parser()
    (action,) = [a for a in everything._actions if a.dest == "command"]
    assert list(action.choices) == list(COMMANDS)
    for command in COMMANDS:
        (alone,) = [a for a in build_parser(command)._actions if a.dest == "command"]
        assert command in alone.choices and len(alone.choices) <= 2


def test_help_imports_no_library(tmp_path):
    code, modules = _modules("--help", tmp_path=tmp_path)
    assert code == 0
    assert not modules & {"pydantic", "rich", "yaml", "langgraph", "langsmith", "chromadb"}


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_score_imports_only_what_it_uses(fmt, tmp_path):
    code, modules = _modules("score", "--format", fmt, tmp_path=tmp_path)
    assert code == 0
    unused = {"rich.console", "rich.table", "langgraph", "langsmith", "langchain_core",
              "chromadb", "numpy", "sklearn", "sqlite3", "tools.learning.scoring",
              "agent.interfaces.commands.kb", "agent.interfaces.commands.sweep"}
    assert not modules & unused


def test_score_takes_the_validated_playbook_from_its_cache(tmp_path):
    """The first `csm score` parses and validates the bundled playbook and caches it; the next
    one reads no YAML and builds no validator (so pydantic never looks for its plugins)."""
    first = _modules("score", tmp_path=tmp_path)[1]
    assert {"yaml", "importlib.metadata"} <= first
    assert (tmp_path / "cache" / "playbook.pickle").is_file()
    code, modules = _modules("score", tmp_path=tmp_path)
    assert code == 0
    assert not modules & {"yaml", "importlib.metadata", "pydantic.plugin._loader"}


def test_a_sweeps_main_process_runs_no_graph(tmp_path, knowledge_index_dir):
    """With workers, the main process streams, stores and reports: LangGraph (and LangSmith,
    which LangChain's runnables import) load in the workers' forkserver only."""
    probe = (
        "import json, os, sys\n"
        "from agent.interfaces.cli import main\n"
        "out = sys.stdout\n"
        "sys.stdout = open(os.devnull, 'w', encoding='utf-8')\n"
        f"code = main(['sweep', '--as-of', '2026-11-20', '--workers', '2', '--out', "
        f"{str(tmp_path / 'out')!r}, {str(sample_portfolio_path())!r}])\n"
        "out.write(json.dumps([code, sorted(sys.modules)]))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True, env={"PATH": "", "HOME": str(tmp_path),
                                           "CSM_DATA_DIR": str(tmp_path),
                                           "CSM_KNOWLEDGE_DIR": str(knowledge_index_dir)})
    code, modules = json.loads(done.stdout)
    assert code == 0 and len(list((tmp_path / "out").glob("*.md"))) == 41
    assert not {m.split(".")[0] for m in modules} & {"langgraph", "langsmith", "langchain_core"}


THREADS = (
    "import json, os, sys\n"
    "from agent.interfaces.cli import main\n"
    "out = sys.stdout\n"
    "sys.stdout = open(os.devnull, 'w', encoding='utf-8')\n"
    "code = main(sys.argv[1:])\n"
    "from threadpoolctl import threadpool_info\n"
    "blas = [i['num_threads'] for i in threadpool_info() if i['user_api'] == 'blas']\n"
    "if os.environ.get('EMBED'):\n"
    "    from tools.knowledge.encoders import LocalModel\n"
    "    class Probe(LocalModel):\n"
    "        model = passages = None\n"
    "    Probe(int(os.environ['EMBED']))\n"
    "    blas += [i['num_threads'] for i in threadpool_info() if i['user_api'] == 'blas']\n"
    "out.write(json.dumps([code, 'numpy' in sys.modules, blas]))\n"
)


@pytest.mark.parametrize(("preset", "embed", "expected"),
                         [(None, None, [1]), ("2", None, [2]), (None, "2", [1, 2])])
def test_numpy_starts_with_one_math_thread_unless_told(preset, embed, expected, tmp_path):
    """A command's numpy starts OpenBLAS on one thread (its pool of one per core spins at import:
    some 0.1 s of CPU for element-wise math); a value the user set wins, and the embedding model
    still raises its pools to CSM_EMBED_THREADS."""
    portfolio = tmp_path / "a.jsonl"
    lines = sample_portfolio_path().read_text(encoding="utf-8")
    records = json.loads(lines)["accounts"] if lines.lstrip().startswith("{") else None
    assert records, "the bundled sample is a JSON portfolio"
    rows = [{**r, "id": f"{r['id']}-{n}"} for n in range(2) for r in records]
    portfolio.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    env = {"PATH": "", "CSM_DATA_DIR": str(tmp_path), "HOME": str(tmp_path)}
    env |= {"OPENBLAS_NUM_THREADS": preset} if preset else {}
    env |= {"EMBED": embed} if embed else {}
    done = subprocess.run([sys.executable, "-c", THREADS, "score", str(portfolio), "--format",
                           "csv", "--as-of", "2026-11-20"], capture_output=True, text=True,
                          check=True, env=env)
    code, numpy_loaded, blas = json.loads(done.stdout)
    assert code == 0 and numpy_loaded  # 80 accounts: scored column by column
    assert blas == expected
