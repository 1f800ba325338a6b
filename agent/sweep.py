"""`csm sweep`: the daily or weekly routine over every account, through the six-step graph.

Accounts stream from a file or the store in batches; workers (processes) run the graph and
write each account's reports; the main process stores every finished batch in one transaction
with the alerts it raises against the previous sweep, then writes the portfolio report."""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from agent.assess import markdown
from agent.escaping import terminal_line
from agent.graph import AssessmentContext, build_graph
from agent.store import Store, StoreError
from tools.account import Account
from tools.playbook import Playbook
from tools.portfolio import RowError, iter_rows, parse_row

BATCH = 100
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
    model: Any = "none"
    model_concurrency: int = 2
    playbook: str | None = None
    resume: bool = False


@dataclass
class SweepResult:
    """What a sweep did."""

    sweep_id: int
    status: str
    accounts: int = 0
    skipped: int = 0
    rejected: list[RowError] = field(default_factory=list)
    alerts: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    note: str = ""


def snapshot(state: dict[str, Any]) -> dict[str, Any]:
    """The compact record of one assessed account that the store keeps."""
    account, score, risk = state["account"], state["score"], state["risk_plan"]
    forecast, plan, expansion = state["forecast"], state["success_plan"], state["expansion"]
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
            }
            for o in score.opportunities
        ],
        "expansion_hold": expansion.hold,
        "expected_expansion": forecast.expected_expansion_monthly,
        "renewal_date": _iso(account.renewal_date),
        "renewal_status": risk.renewal.status,
        "renewal_probability": forecast.renewal_probability,
        "expected_churned_mrr": forecast.expected_churned_mrr,
        "qbr_date": _iso(plan.qbr.date),
        "qbr_status": plan.qbr.status,
    }


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


# workers ---------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _start_worker(options: SweepOptions, calibration: Any, limit: Any) -> None:
    _WORKER.update(
        graph=build_graph(checkpointer=None),
        options=options,
        limit=limit,
        context=AssessmentContext(
            as_of=options.as_of,
            lang=options.lang,  # type: ignore[arg-type]
            playbook=options.playbook,
            model=options.model,
            calibration=calibration,
        ),
    )


def assess_batch(rows: list[tuple[int, Any]]) -> list[tuple[int, Any, str | None]]:
    """Validate and assess a batch: (row, snapshot or row errors, report path)."""
    options: SweepOptions = _WORKER["options"]
    source = options.source.name if options.source else "store"
    out: list[tuple[int, Any, str | None]] = []
    for row, record in rows:
        account = parse_row(source, row, record)
        if not isinstance(account, Account):
            out.append((row, account, None))
            continue
        state = _WORKER["graph"].invoke({"account": account}, context=_WORKER["context"])
        path = None
        if options.out is not None:
            file = options.out / f"{account.id}.{options.lang}.md"
            file.write_text(markdown(state), encoding="utf-8")
            path = str(file)
        out.append((row, snapshot(state), path))
    return out


# the main loop -----------------------------------------------------------------


def _in_order(pool: Any, batches: Iterator[list[tuple[int, Any]]], window: int) -> Iterator[Any]:
    """Results of the batches in order, at most `window` in flight; the input is read here, in
    the calling thread (a pool's feeder thread would read the store from another thread)."""
    pending: deque[Any] = deque()
    for batch in batches:
        pending.append(pool.apply_async(assess_batch, (batch,)))
        if len(pending) >= window:
            yield pending.popleft().get()
    while pending:
        yield pending.popleft().get()


def input_hash(options: SweepOptions, store: Store, playbook: Playbook) -> str:
    """Changes when the inputs of a sweep change: the portfolio, the playbook, the options."""
    digest = hashlib.sha256()
    if options.source is not None:
        with open(options.source, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    else:
        digest.update(store.accounts_fingerprint().encode())
    digest.update(f"|{playbook.model_dump_json()}|{options.routine}|{options.lang}".encode())
    digest.update(f"|{options.out is not None}|{options.model}".encode())
    return digest.hexdigest()[:32]


def _rows(options: SweepOptions, store: Store) -> Iterator[tuple[int, Any]]:
    if options.source is not None:
        return iter_rows(options.source)[1]
    return store.iter_accounts()


def _batches(rows: Iterator[tuple[int, Any]], skip: set[str]) -> Iterator[list[tuple[int, Any]]]:
    batch: list[tuple[int, Any]] = []
    for row, record in rows:
        if skip and isinstance(record, dict) and str(record.get("id", "")).strip() in skip:
            continue
        batch.append((row, record))
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
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
    """Sweep every account; store each finished batch; raise on interruption after marking the
    sweep incomplete (every finished account stays stored)."""
    started = time.perf_counter()
    as_of = options.as_of.isoformat()
    fingerprint = input_hash(options, store, playbook)
    existing = store.sweep(as_of)
    skip: set[str] = set()
    if options.resume:
        if existing is None or existing["status"] == "complete":
            raise StoreError(f"no unfinished sweep for {as_of} to resume; run without --resume.")
        if existing["input_hash"] != fingerprint:
            raise StoreError(
                f"the inputs changed since the sweep of {as_of} started; "
                "run it again without --resume."
            )
        sweep_id = int(existing["id"])
        skip = store.done_ids(sweep_id)
        store.reopen_sweep(sweep_id)
    elif (
        existing is not None
        and existing["status"] == "complete"
        and existing["input_hash"] == fingerprint
    ):
        return SweepResult(
            sweep_id=int(existing["id"]),
            status="complete",
            accounts=int(existing["accounts"]),
            alerts=store.alerts(existing["id"]),
            note=f"the sweep of {as_of} already ran on these inputs; nothing to do",
        )
    else:
        sweep_id = store.start_sweep(
            as_of, options.routine, str(options.source or "store"), fingerprint, playbook.version
        )
    if options.out is not None:
        options.out.mkdir(parents=True, exist_ok=True)
    previous = store.previous_sweep(as_of)
    result = SweepResult(sweep_id=sweep_id, status="running", skipped=len(skip))
    seen: dict[str, int] = {}
    # forkserver: workers start from a clean process, never from one whose threads (a
    # knowledge-base client, say) may hold locks at fork time
    context = mp.get_context("forkserver")
    context.set_forkserver_preload(["agent.sweep"])
    limit = context.BoundedSemaphore(options.model_concurrency)
    batches = _batches(_rows(options, store), skip)
    pool = None
    try:
        if options.workers > 1:
            pool = context.Pool(
                options.workers, initializer=_start_worker, initargs=(options, calibration, limit)
            )
            outcomes = _in_order(pool, batches, window=2 * options.workers)
        else:
            _start_worker(options, calibration, limit)
            outcomes = map(assess_batch, batches)
        for outcome in outcomes:
            _store_batch(store, sweep_id, previous, outcome, seen, result)
            if progress:
                progress(result.accounts, None)
    except BaseException:
        if pool is not None:
            pool.terminate()
        store.finish_sweep(
            sweep_id, "incomplete", len(result.rejected), [e.model_dump() for e in result.rejected]
        )
        result.status = "incomplete"
        raise
    if pool is not None:
        pool.close()
        pool.join()
    store.finish_sweep(
        sweep_id, "complete", len(result.rejected), [e.model_dump() for e in result.rejected]
    )
    result.status = "complete"
    result.alerts = store.alerts(sweep_id)
    result.seconds = time.perf_counter() - started
    return result


def _store_batch(
    store: Store,
    sweep_id: int,
    previous: Any,
    outcome: list[tuple[int, Any, str | None]],
    seen: dict[str, int],
    result: SweepResult,
) -> None:
    snapshots, reports = [], []
    for row, item, path in outcome:
        if isinstance(item, list):
            result.rejected.extend(item)
            for error in item:
                print(terminal_line(f"csm: rejected {error.sentence()}"), file=sys.stderr)
            continue
        if item["id"] in seen:
            error = RowError(
                source="portfolio",
                row=row,
                id=item["id"],
                field="id",
                reason=f"duplicate id, first used in row {seen[item['id']]}",
            )
            result.rejected.append(error)
            print(terminal_line(f"csm: rejected {error.sentence()}"), file=sys.stderr)
            continue
        seen[item["id"]] = row
        snapshots.append(item)
        if path:
            reports.append((item["id"], "assessment", path))
    before = (
        store.previous_snapshots(int(previous["id"]), [s["id"] for s in snapshots])
        if previous is not None
        else {}
    )
    alerts = [a for s in snapshots for a in alerts_for(s, before.get(s["id"]))]
    store.record(sweep_id, snapshots, alerts, reports)
    result.accounts += len(snapshots)
