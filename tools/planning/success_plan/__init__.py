"""Success plan (step 3): objectives, milestones, initiatives, KPIs, QBR agenda, next actions.

Every figure comes from the account, the scores (`AccountScore`), the stakeholder map or the
playbook (`success_plan`, `qbr`, `onboarding`, `signals`, `churn_risk.tiers`, `expansion`,
`risk.mitigations`), and so does every text an agency words: objective titles
(`success_plan.objectives`, `health.components.<id>.objective`,
`expansion.offers.<id>.objective`), owners (`success_plan.roles`, `criterion_owners`), what
closing a stakeholder gap means and its action (`stakeholders.gaps`), the client's resources
for an offer (`expansion.offers.<id>.client_resources`) and the figures of each QBR item
(`qbr.sections.*.items.*.figures`). The rules:

- Quarter: the calendar quarter of `as_of` ("Q4 2026"); the horizon ends at
  `as_of + success_plan.horizon_days`.
- Next-action due days: `success_plan.next_action_days`, tightened to the tier's
  `cadence_days` and the industry's `review_cadence_days` when shorter; a signal's action is
  due within its `risk.mitigations.<id>.due_days` when that is shorter still.
- QBR: due `last_qbr_date + qbr.cadence_days`; with no QBR on record, `contract_start +
  onboarding.days` while that is still ahead. Overdue or unknown: held as soon as possible,
  `as_of + success_plan.next_action_days`. Status `overdue` (due date passed), `due` (due within
  the horizon), `scheduled` (after it) or `unknown`.
- KPIs (`success_plan.kpis`): baseline from the health or churn score (`source`) or the
  account input (`input`). Target: `target`; or baseline + `gain` (minus when lower is better),
  capped at `target`; or baseline x (1 + `growth_pct`/100), capped at `target` when set.
  Unknown baseline: baseline None, a relative target None (a fixed `target` is kept), and a
  note to collect it. `met` when the baseline already reaches the target.
- Objectives: the first three that apply, in this order:
  1. `reduce_churn_risk` when retention comes first, the tier being one of
     `expansion.hold_tiers` (to the churn KPI target);
  2. `protect_renewal` when the `renewal_window` signal fired;
  3. `raise_weakest_component`: the lowest health component, when below the health KPI target;
  4. `reduce_churn_risk` when the tier is medium;
  5. `close_stakeholder_gaps` when a high-severity gap exists or stakeholders are unknown;
  6. `grow_via_opportunity`: the best recommended offer (`expansion.recommend`), when the tier
     is not in `expansion.hold_tiers`;
  7. `raise_csat` when CSAT is below its KPI target;
  8. `grow_organic_traffic` (always; with an unknown baseline the criterion is to measure it);
  9. `sustain_health`, 10. `hold_qbr` (always).
- Milestones inside the horizon: the QBR, renewal talks start (`renewal_date -
  signals.renewal_window.within_days`) unless talks started, the renewal date, open onboarding
  criteria and the end of onboarding, the industry's peak quarter start, a mid-horizon review
  and the horizon end.
- Initiatives: the tier's interventions (one initiative), one per recommended offer unless
  held.
- Next actions: see `actions`; two or more late onboarding criteria go to the medium tier's
  escalation, or the tier's own when retention comes first.
- Onboarding (contract started less than `onboarding.days` ago): the phase holding today's day
  number; each criterion `met`/`not_met` where data can tell (stakeholder satisfaction: mean
  stakeholder satisfaction, else CSAT), else `upcoming` (due today or later) or
  `due_unverified`.

Modules: `models` (the results), `context` (the inputs every part reads), `kpis`, `qbr` and
`qbr_figures` (the agenda and each item's figures), `onboarding`, `objectives`, `milestones`,
`initiatives`, `actions`, and `plan`, which puts them together.
"""

from tools.planning.success_plan.context import action_due_days, quarter_label
from tools.planning.success_plan.models import SuccessPlan
from tools.planning.success_plan.plan import build_success_plan

__all__ = ["SuccessPlan", "action_due_days", "build_success_plan", "quarter_label"]
