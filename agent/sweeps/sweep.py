"""`csm sweep`: the daily or weekly routine over every account, through the six-step graph.

Accounts stream from a file or the store; the main process validates each row and rejects
duplicate ids (the first row wins), then sends batches to workers (processes) that run the
graph once per batch (`build_batch_graph`: the six steps over every account of the batch) and
write each account's reports under a file name derived from its id
(`tools.filenames`); the main process stores every finished batch in one transaction with the
alerts it raises against the previous sweep. A row that cannot be processed, for any reason,
is named and skipped; the others go on. A churned account (SPEC 14) is not swept: no assessment,
no report, no snapshot; its earlier snapshots stay.

With a model, the workers share one model budget (`agent.assessment.budget`): the run's deadline,
the calls in flight and the circuit breaker; batches are then one account each, so every worker
has work whatever the portfolio's size. Each account's summaries that fell back are kept in its
snapshot, named on stderr and counted; a sweep run again on the same inputs redoes the accounts
whose summaries fell back. The workers ignore SIGINT and are ended by the main process: an
interrupted sweep leaves no worker calling the model or writing reports."""

from __future__ import annotations

import gc
import hashlib
import json
import multiprocessing as mp
import os
import signal as signals
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from itertools import islice
from pathlib import Path
from typing import Any

from agent.assessment.budget import FALLBACKS, ModelBudget
from agent.assessment.context import AssessmentContext
from agent.assessment.questions import Answers
from agent.assessment.state import FAILED, start_item
from agent.assessment.writer import markdown
from agent.sweeps.executors import THREAD_CAPS, Executor, open_executor
from agent.sweeps.sinks import FolderSink, ReportSink
from agent.sweeps.sinks import write_report as write_report  # where callers find it
from agent.sweeps.store import ERRORS_KEPT, Store, StoreError, StoreUnavailable
from tools.escaping import terminal_line
from tools.filenames import report_name
from tools.playbook import Playbook
from tools.portfolio.account import Account
from tools.portfolio.fast_accounts import fast_account
from tools.portfolio.readers import RowError, RowWarning, failed_row, iter_rows, validated_rows

BATCH = 100
MODEL_BATCH = 1  # accounts per batch when a model writes the prose: every worker gets work
SHOWN = 10  # accounts whose fallbacks get their own stderr line; the rest are counted
REPORT_KIND = "assessment"
Progress = Callable[[int, int | None], None]


@dataclass
class SweepOptions:
    """What to sweep and how."""

    as_of: date
    routine: str = "daily"
    source: Path | None = None  # None: the accounts in the store
    out: Path | None = None
    workers: int = 1
    lang: str = "en"
    model: Any = "none"  # None: the model of CSM_MODEL; "none": no model
    model_name: str = "none"  # what the fingerprint knows of the model (agent.models.model_name)
    model_concurrency: int = 2
    model_deadline: float = 120.0  # seconds of model work per account
    run_deadline: float | None = 3600.0  # seconds of model work for the sweep
    max_failures: int = 3  # failed model calls in a row that stop the model calls
    playbook: str | None = None
    resume: bool = False
    churn_model: Any = None  # a loaded churn model file, or None
    parent: int = 0  # the main process: a worker stops when it is gone
    executor: str = "local"  # where the batches run (agent.sweeps.executors): local or ray
    return_reports: bool = False  # workers return rendered reports; the main process writes them

    @property
    def with_model(self) -> bool:
        """Whether a model writes the prose."""
        return self.model != "none" and self.model_name != "none"


@dataclass
class Rejections:
    """The rows a run did not process: each named on stderr as it is found, all counted, the
    errors of the first ERRORS_KEPT kept (memory stays flat on a huge bad file)."""

    errors: list[RowError] = field(default_factory=list)
    rows: int = 0
    warnings: list[RowWarning] = field(default_factory=list)
    warned: int = 0

    def reject(self, errors: list[RowError]) -> None:
        """Name one row that is not processed and count it."""
        for error in errors:
            print(terminal_line(f"csm: rejected {error.sentence()}"), file=sys.stderr)
        if self.rows < ERRORS_KEPT:
            self.errors.extend(errors)
        self.rows += 1

    def warn(self) -> None:
        """Print the reader's warnings (unknown columns, say) found since the last call."""
        for warning in self.warnings[self.warned :]:
            print(terminal_line(f"csm: warning: {warning.sentence()}"), file=sys.stderr)
        self.warned = len(self.warnings)


@dataclass
class Fallbacks:
    """The summaries a run asked of a model and kept deterministic: each account named on
    stderr as it is stored (the first SHOWN), all counted by kind."""

    accounts: list[str] = field(default_factory=list)
    reports: int = 0
    asked: int = 0
    kinds: Counter[str] = field(default_factory=Counter)

    def add(self, item: dict[str, Any]) -> None:
        """Count one stored account's summaries; name it when some fell back."""
        if "prose_fallbacks" not in item:
            return
        fell = item["prose_fallbacks"]
        self.asked += item.get("prose_model", 0) + len(fell)
        if not fell:
            return
        self.reports += len(fell)
        self.kinds.update(kind for _, kind in fell)
        self.accounts.append(item["id"])
        if len(self.accounts) <= SHOWN:
            why = "; ".join(dict.fromkeys(FALLBACKS[k]["en"] for _, k in fell))
            total = item.get("prose_model", 0) + len(fell)
            print(terminal_line(f"csm: {item['id']}: {len(fell)} of {total} summaries are the "
                                f"deterministic ones ({why})"), file=sys.stderr, flush=True)
        elif len(self.accounts) == SHOWN + 1:
            print("csm: more accounts' summaries fell back; the portfolio report lists them",
                  file=sys.stderr, flush=True)

    def sentence(self) -> str:
        """One line for the end of the run: how many fell back, why, where they are listed."""
        kinds = ", ".join(f"{kind} {n}" for kind, n in self.kinds.most_common())
        return (f"{self.reports} of {self.asked} model summaries fell back to the deterministic "
                f"ones, in {len(self.accounts)} account(s) ({kinds})")


@dataclass
class SweepResult:
    """What a sweep did."""

    sweep_id: int
    status: str
    accounts: int = 0
    skipped: int = 0
    churned: int = 0
    rejected: Rejections = field(default_factory=Rejections)
    alerts: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    note: str = ""
    fallbacks: Fallbacks = field(default_factory=Fallbacks)


def snapshot(state: dict[str, Any]) -> dict[str, Any]:
    """The compact record of one assessed account that the store keeps, with `inputs`: every
    input field of the account as assessed (the history a backtest learns from)."""
    account, score, risk = state["account"], state["score"], state["risk_plan"]
    forecast, plan, expansion = state["forecast"], state["success_plan"], state["expansion"]
    fits = {o.id: o.fit for o in [*expansion.offers, *expansion.not_recommended]}
    return {
        "id": account.id,
        "name": account.name,
        "mrr": account.mrr,
        "csat": account.csat,
        "nps": account.nps,
        "health_score": score.health.score,
        "color": score.health.color,
        "churn_score": score.churn_risk.score,
        "tier": score.churn_risk.tier,
        "signals": [s.id for s in score.signals],
        "mitigations": [
            {
                "signal": m.signal,
                "action": m.action,
                "owner": m.owner,
                "due": m.due_date.isoformat(),
            }
            for m in risk.mitigations
        ],
        "cadence": risk.cadence,
        "next_contact_due": _iso(risk.next_contact_due),
        "primary_contact": state["stakeholders"].primary_contact,
        "opportunities": [
            {
                "id": o.id,
                "offer": o.offer,
                "price": o.price,
                "probability": o.probability,
                "expected_value": o.expected_value,
                "recommended": fits[o.id].recommended,
                "reason": fits[o.id].reason,
            }
            for o in score.opportunities
        ],
        "expansion_hold": expansion.hold,
        "expected_expansion": forecast.expected_expansion_monthly,
        "held_expansion": forecast.held_expansion_monthly,
        "renewal_date": _iso(account.renewal_date),
        "renewal_status": risk.renewal.status,
        "renewal_probability": forecast.renewal_probability,
        "expected_churned_mrr": forecast.expected_churned_mrr,
        "qbr_date": _iso(plan.qbr.date),
        "qbr_status": plan.qbr.status,
        "inputs": account.model_dump(mode="json", exclude_none=True),
    } | _model_keys(state) | prose_keys(state)


def prose_keys(state: dict[str, Any]) -> dict[str, Any]:
    """When a model was asked for the summaries: how many it wrote (`prose_model`) and the
    ones that fell back, with their kind (`prose_fallbacks`: [report, kind] pairs)."""
    reports = state.get("reports")
    records = reports.prose if reports is not None else []
    if not any(r.source == "model" or r.fallback for r in records):
        return {}
    return {
        "prose_model": sum(r.source == "model" for r in records),
        "prose_fallbacks": [[r.report, r.fallback] for r in records if r.fallback],
    }


def _model_keys(state: dict[str, Any]) -> dict[str, Any]:
    """The churn model's figures, only when the run has a model (snapshots stay as they were
    without one)."""
    found = state.get("model_forecast")
    if found is None:
        return {}
    return {
        "churn_probability": found.churn_probability,
        "model_renewal_probability": found.renewal_probability,
    }


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


# workers ---------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def playbook_answers(playbook: Playbook, lang: str) -> Answers:
    """The knowledge-base passages of every question a step can ask under this playbook, in the
    sweep's language, answered once for all the workers (and kept with the index for the next
    sweep): the workers load neither Chroma nor the embedding model. A question outside them
    (none, unless a step asks a new kind) is searched as before."""
    from agent.assessment.questions import playbook_questions
    from tools.knowledge.index import open_knowledge_base

    questions = [(question, 1, topic, lang) for topic, question in playbook_questions(playbook)]
    return Answers(open_knowledge_base().answers(questions))


def _start_worker(
    options: SweepOptions,
    calibration: Any,
    budget: ModelBudget | None,
    pooled: bool = False,
    environ: dict[str, str] | None = None,
    search: Any = None,
) -> None:
    from agent.assessment.graph import build_batch_graph  # LangGraph: in the workers

    if pooled:  # Ctrl-C reaches the whole process group: the main process ends the workers
        signals.signal(signals.SIGINT, signals.SIG_IGN)
    if environ is not None:  # the sweep's environment, not the older one of the forkserver
        os.environ.clear()
        os.environ.update(environ)
    if budget is None and options.with_model:  # a Ray worker: a budget of its own
        budget = ModelBudget.local(options.model_deadline, options.run_deadline,
                                   options.model_concurrency, options.max_failures)
    _WORKER.update(
        graph=build_batch_graph(),
        options=options,
        context=AssessmentContext(
            as_of=options.as_of,
            lang=options.lang,  # type: ignore[arg-type]
            playbook=options.playbook,
            model=options.model if options.with_model else "none",
            calibration=calibration,
            churn_model=options.churn_model,
            model_budget=budget,
            search=search,
        ),
    )
    gc.freeze()  # what the worker loaded (modules, graph, answers) is never garbage: unscanned


def _start_remote(
    options: SweepOptions, calibration: Any, search: Answers, paths: dict[str, str]
) -> None:
    """Set up a Ray worker: the knowledge index and the playbook are the copies shipped to its
    node (`paths`), the model budget its own (Ray has no shared semaphore)."""
    if "knowledge" in paths:
        os.environ["CSM_KNOWLEDGE_DIR"] = paths["knowledge"]
    if "playbook" in paths:
        options.playbook = paths["playbook"]
    _start_worker(options, calibration, None, pooled=True, search=search)


def _parent_gone(options: SweepOptions) -> bool:
    """True when the main process of the sweep no longer exists (it was killed)."""
    if not options.parent or options.parent == os.getpid():
        return False
    try:
        os.kill(options.parent, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # pragma: no cover - another user's process took its number
        return True
    return False


def assess_batch(rows: list[tuple[int, Any]]) -> list[tuple[int, Any, Any]]:
    """Assess a batch of rows the main process found valid: (row, snapshot or row errors,
    report path, or with `return_reports` the report's (name, text)), in the rows' order. The
    raw rows travel (a validated model costs four times more to pickle) and are validated again
    here; the batch goes through the graph in one run (`build_batch_graph`). A row that fails
    (validation, a step, snapshot, report file) comes back as its error; the batch goes on."""
    options: SweepOptions = _WORKER["options"]
    if _parent_gone(options):  # the main process was killed: nobody stores this
        os._exit(1)
    source = source_name(options)
    done: dict[int, tuple[int, Any, Any]] = {}
    valid: list[tuple[int, int, Account]] = []
    for position, (row, record) in enumerate(rows):
        try:
            valid.append((position, row, fast_account(record) or Account.model_validate(record)))
        except Exception as error:  # noqa: BLE001 - one row never stops the others
            done[position] = (row, [failed_row(source, row, None, error)], None)
    items: list[dict[str, Any]] = [start_item(account) for _, _, account in valid]
    if items:
        try:
            items = _WORKER["graph"].invoke({"items": items}, context=_WORKER["context"])["items"]
        except Exception as error:  # noqa: BLE001 - the graph itself failed: every row says so
            items = [{**item, FAILED: error} for item in items]
    for (position, row, account), state in zip(valid, items, strict=True):
        try:
            if FAILED in state:
                raise state[FAILED]
            result = snapshot(state)
            report: Any = None
            if options.out is not None:
                name = report_name(account.id, options.lang)
                text = markdown(state)
                report = ((name, text) if options.return_reports
                          else FolderSink(options.out).write(name, text))
            done[position] = (row, result, report)
        except Exception as error:  # noqa: BLE001 - one row never stops the others
            done[position] = (row, [failed_row(source, row, account.id, error)], None)
    return [done[position] for position in range(len(rows))]


def source_name(options: SweepOptions) -> str:
    """How errors name the input: the portfolio file's name, or `store`."""
    return options.source.name if options.source else "store"


# the main loop -----------------------------------------------------------------


def input_hash(options: SweepOptions, store: Store, playbook: Playbook) -> str:
    """Changes when the inputs of a sweep change: the portfolio, the playbook, the options, the
    reports folder (a sweep into a new folder writes its reports there) and the prose: which
    model writes it, or none."""
    digest = hashlib.sha256()
    if options.source is not None:
        with open(options.source, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    else:
        digest.update(store.accounts_fingerprint().encode())
    digest.update(f"|{playbook.model_dump_json()}|{options.routine}|{options.lang}".encode())
    folder = str(options.out.resolve()) if options.out is not None else ""
    prose = f"model {options.model_name}" if options.with_model else "deterministic"
    digest.update(f"|{folder}|{prose}".encode("utf-8", "surrogateescape"))
    if options.churn_model is not None:
        digest.update(f"|{options.churn_model.digest}".encode())
    return digest.hexdigest()[:32]


def _batches(
    options: SweepOptions, store: Store, skip: set[str], result: SweepResult
) -> Iterator[list[tuple[int, Any]]]:
    """Batches of the raw rows that are valid, first with their id, active and not yet done;
    every other row of a file is rejected here, before any worker sees it (a churned one is
    counted). The store's rows are not validated here: they were on import, and the workers
    validate every row (one that no longer passes is named by its worker)."""
    size = MODEL_BATCH if options.with_model else BATCH
    if options.source is None:  # validated on import, one row per id: the workers validate
        return _chunks(_stored_rows(store, skip, result), size)
    return _chunks(_file_rows(options.source, skip, result), size)


def _stored_rows(
    store: Store, skip: set[str], result: SweepResult
) -> Iterator[tuple[int, Any]]:
    for row, record in store.iter_accounts():
        if record.get("id") in skip:
            continue
        if record.get("status") == "churned":
            result.churned += 1
            continue
        yield row, record


def _file_rows(
    source: Path, skip: set[str], result: SweepResult
) -> Iterator[tuple[int, Any]]:
    rows = iter_rows(source, result.rejected.warnings)[1]
    top_level = source.suffix.lower() != ".csv"
    for row, record, item in validated_rows(
        source.name, rows, result.rejected.warnings, top_level
    ):
        result.rejected.warn()
        if not isinstance(item, Account):
            result.rejected.reject(item)
            continue
        if item.id in skip:
            continue
        if item.status == "churned":
            result.churned += 1
            continue
        yield row, record


def _chunks(items: Iterator[tuple[int, Any]], size: int) -> Iterator[list[tuple[int, Any]]]:
    """`items` in lists of `size` (the last one shorter)."""
    while batch := list(islice(items, size)):
        yield batch


def alerts_for(current: dict[str, Any], before: Any) -> list[tuple[str, str, str]]:
    """Tier or colour changes and newly fired signals since the previous snapshot."""
    if before is None:
        return []
    found = []
    if before["tier"] != current["tier"]:
        found.append((current["id"], "tier_change", f"{before['tier']} -> {current['tier']}"))
    if before["color"] != current["color"]:
        found.append((current["id"], "color_change", f"{before['color']} -> {current['color']}"))
    for signal in sorted(set(current["signals"]) - set(json.loads(before["signals"]))):
        found.append((current["id"], "new_signal", signal))
    return found


def run_sweep(
    options: SweepOptions,
    store: Store,
    playbook: Playbook,
    calibration: Any,
    progress: Progress | None = None,
) -> SweepResult:
    """Sweep every account; store each finished batch; raise on interruption after ending the
    workers and marking the sweep incomplete (every finished account stays stored). The same
    inputs again do nothing, except that with a model the accounts whose summaries fell back
    are redone."""
    started = time.perf_counter()
    as_of = options.as_of.isoformat()
    fingerprint = input_hash(options, store, playbook)
    existing = store.sweep(as_of)
    skip: set[str] = set()
    note = ""
    if options.resume:
        if existing is None or existing["status"] == "complete":
            raise StoreError(f"no unfinished sweep for {as_of} to resume; run without --resume.")
        if existing["input_hash"] != fingerprint:
            raise StoreError(
                f"the inputs changed since the sweep of {as_of} started (portfolio, playbook, "
                "routine, language, model or reports folder); resume with the command the "
                "interrupted sweep printed, or run it again without --resume."
            )
        sweep_id = int(existing["id"])
        skip = store.done_ids(sweep_id)
        store.reopen_sweep(sweep_id)
    elif (
        existing is not None
        and existing["status"] == "complete"
        and existing["input_hash"] == fingerprint
    ):
        redo = store.fallback_ids(int(existing["id"])) if options.with_model else set()
        if not redo:
            return SweepResult(
                sweep_id=int(existing["id"]),
                status="complete",
                accounts=int(existing["accounts"]),
                rejected=Rejections(
                    [RowError.model_validate(e) for e in store.rejections(existing["id"])[1]],
                    int(existing["rejected"]),
                ),
                alerts=store.alerts(existing["id"]),
                note=f"the sweep of {as_of} already ran on these inputs; nothing to do",
            )
        sweep_id = int(existing["id"])
        skip = store.done_ids(sweep_id) - redo
        store.reopen_sweep(sweep_id)
        note = (f"the sweep of {as_of} already ran on these inputs; redid the {len(redo)} "
                "account(s) whose summaries had fallen back")
    else:
        sweep_id = store.start_sweep(
            as_of, options.routine, str(options.source or "store"), fingerprint, playbook.version
        )
    if options.out is not None:
        options.out.mkdir(parents=True, exist_ok=True)
    previous = store.previous_sweep(as_of)
    result = SweepResult(sweep_id=sweep_id, status="running", skipped=len(skip), note=note)
    # forkserver: workers start from a clean process, never from one whose threads (a
    # knowledge-base client, say) may hold locks at fork time
    context = mp.get_context("forkserver")
    context.set_forkserver_preload(["agent.sweeps.sweep", "agent.assessment.graph"])
    search = playbook_answers(playbook, options.lang)
    batches = _batches(options, store, skip, result)
    sink = FolderSink(options.out) if options.out is not None else None
    executor: Executor | None = None
    try:
        executor = _executor(options, calibration, context, search)
        if executor is not None:
            outcomes = executor.results(batches)
        else:
            outcomes = map(assess_batch, batches)
        for outcome in outcomes:
            _store_batch(store, sweep_id, previous, outcome, result, source_name(options), sink)
            if progress:
                progress(result.accounts, None)
    except BaseException:
        if executor is not None:
            executor.cancel()  # every worker ended: no model call or report after this
        _finish(store, sweep_id, "incomplete", result)
        result.status = "incomplete"
        raise
    if executor is not None:
        executor.close()
    _finish(store, sweep_id, "complete", result)
    result.status = "complete"
    result.alerts = store.alerts(sweep_id)
    result.seconds = time.perf_counter() - started
    return result


def _executor(
    options: SweepOptions, calibration: Any, context: Any, search: Answers
) -> Executor | None:
    """The workers of the sweep: Ray actors, a local pool, or None (one worker: this process).
    On Ray, the workers return their reports, the knowledge index and the playbook are shipped
    to them, and each has a model budget of its own."""
    if options.executor == "ray":
        options.parent, options.return_reports = 0, True
        return open_executor(
            "ray", options.workers, _start_remote, (options, calibration, search), assess_batch,
            environ=_remote_environment(), files=_shipped(options),
        )
    options.parent = os.getpid()
    budget = (
        ModelBudget.shared(context, options.model_deadline, options.run_deadline,
                           options.model_concurrency, options.max_failures)
        if options.with_model else None
    )
    if options.workers > 1:
        environ = {**THREAD_CAPS, **os.environ}
        return open_executor(
            "local", options.workers, _start_worker,
            (options, calibration, budget, True, environ, search), assess_batch, context=context,
        )
    _start_worker(options, calibration, budget, search=search)
    return None


PASSED = ("CSM_", "OPENAI_", "ANTHROPIC_", "LANGCHAIN_", "LANGSMITH_", "HTTP_PROXY", "HTTPS_PROXY",
          "NO_PROXY", "http_proxy", "https_proxy", "no_proxy")


def _remote_environment() -> dict[str, str]:
    """What a Ray worker gets of this environment: the project's and the model's settings and
    the thread caps (never the whole environment of this machine)."""
    chosen = {k: v for k, v in os.environ.items() if k.startswith(PASSED)}
    chosen.pop("CSM_KNOWLEDGE_DIR", None)  # the shipped copy's, set on the worker
    return {**THREAD_CAPS, **chosen}


def _shipped(options: SweepOptions) -> dict[str, Path]:
    """The files a Ray worker gets a copy of: the knowledge index (when built) and the
    playbook file."""
    from tools.knowledge.index import knowledge_dir

    files = {}
    if knowledge_dir().is_dir():
        files["knowledge"] = knowledge_dir()
    if options.playbook:
        files["playbook"] = Path(options.playbook)
    return files


def _finish(store: Store, sweep_id: int, status: str, result: SweepResult) -> None:
    errors = [e.model_dump() for e in result.rejected.errors]
    store.finish_sweep(sweep_id, status, result.rejected.rows, errors)


def _store_batch(
    store: Store,
    sweep_id: int,
    previous: Any,
    outcome: list[tuple[int, Any, Any]],
    result: SweepResult,
    source: str,
    sink: ReportSink | None = None,
) -> None:
    """Store a finished batch in one transaction, its returned reports written through `sink`
    first; when the database refuses it, store its rows one by one and name the ones it refuses
    (a full disk still stops the sweep)."""
    done: list[tuple[int, dict[str, Any], str | None]] = []
    for row, item, report in outcome:
        if isinstance(item, list):
            result.rejected.reject(item)
        else:
            if isinstance(report, tuple) and sink is not None:
                report = sink.write(*report)
            done.append((row, item, report))
            result.fallbacks.add(item)
    ids = [item["id"] for _, item, _ in done]
    before = store.previous_snapshots(int(previous["id"]), ids) if previous is not None else {}

    def save(part: list[tuple[int, dict[str, Any], str | None]]) -> None:
        store.record(
            sweep_id,
            [s for _, s, _ in part],
            [a for _, s, _ in part for a in alerts_for(s, before.get(s["id"]))],
            [(s["id"], REPORT_KIND, path) for _, s, path in part if path],
        )

    try:
        save(done)
        result.accounts += len(done)
        return
    except StoreUnavailable:
        raise
    except Exception:  # noqa: BLE001 - some row is unstorable: find it, keep the rest
        pass
    for entry in done:
        try:
            save([entry])
            result.accounts += 1
        except StoreUnavailable:
            raise
        except Exception as error:  # noqa: BLE001 - reported per row
            if entry[2] and sink is not None:
                sink.remove(entry[2])  # no report for a row not stored
            result.rejected.reject([failed_row(source, entry[0], entry[1]["id"], error)])
