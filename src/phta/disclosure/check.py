"""``check(result, policy)``: the one entry point that turns a typed result into a protected output.

Pure: no I/O, no database, no web. The same call runs at a node before anything leaves and again
at the hub on what arrived, so a node with a laxer configuration cannot leak through the hub.
"""

from __future__ import annotations

from phta.disclosure.cellkey import PTable
from phta.disclosure.decisions import Decision, ProtectedOutput, PublishedCell
from phta.disclosure.policy import Policy
from phta.disclosure.results import (
    AggregateResult,
    FrequencyTable,
    MagnitudeTable,
    ModelCoefficients,
    Percentiles,
    TimeSeries,
)
from phta.disclosure.tables import protect_frequency, protect_magnitude


def check(result: AggregateResult, policy: Policy, *, ptable: PTable | None = None) -> ProtectedOutput:
    if isinstance(result, TimeSeries):
        out = protect_frequency(result.as_table(), policy, ptable)
        return ProtectedOutput(result.kind, out.title, out.dimensions, out.cells, out.decisions,
                               out.policy, out.policy_sha256, out.extra)
    if isinstance(result, FrequencyTable):
        return protect_frequency(result, policy, ptable)
    if isinstance(result, MagnitudeTable):
        return protect_magnitude(result, policy)
    if isinstance(result, Percentiles):
        return _percentiles(result, policy)
    if isinstance(result, ModelCoefficients):
        return _model(result, policy)
    raise TypeError(f"check: no disclosure rules for {type(result).__name__}")


def _percentiles(result: Percentiles, policy: Policy) -> ProtectedOutput:
    t = policy.threshold
    decisions, cells = [], []
    for point in result.points:
        label = (f"p{point.p:g}",)
        fewest = min(point.at_or_below, point.at_or_above)
        if result.persons < t:
            decisions.append(Decision(label, "threshold", {"threshold": t}, "suppress",
                                      f"computed from fewer than {t} persons"))
        elif fewest < t:
            decisions.append(Decision(label, "extreme_value", {"threshold": t, "persons_beyond": fewest}, "suppress",
                                      f"fewer than {t} persons lie at or beyond this value, so it describes "
                                      "individuals (minima, maxima and extreme percentiles)"))
        else:
            decisions.append(Decision(label, "extreme_value", {"threshold": t}, "publish",
                                      f"at least {t} persons lie on each side of this value"))
        suppressed = decisions[-1].outcome == "suppress"
        cells.append(PublishedCell(label, None if suppressed else point.value, suppressed, False,
                                   (decisions[-1].rule,) if suppressed else ()))
    persons = policy.round_count(result.persons)
    return ProtectedOutput(result.kind, result.title, ("percentile",), tuple(cells), tuple(decisions),
                           policy.to_dict(), policy.sha256, {"variable": result.variable, "persons": persons})


def _model(result: ModelCoefficients, policy: Policy) -> ProtectedOutput:
    t, dof = policy.threshold, policy.min_residual_df
    blocked = True
    if result.residual_df < dof:
        rule, params = "residual_df", {"min_residual_df": dof, "residual_df": result.residual_df}
        words = f"only {result.residual_df} residual degrees of freedom (minimum {dof}): the model may reproduce individuals"
    elif result.persons < t:
        rule, params, words = "threshold", {"threshold": t}, f"fitted on fewer than {t} persons"
    else:
        blocked, rule, params = False, "residual_df", {"min_residual_df": dof, "residual_df": result.residual_df}
        words = f"{result.residual_df} residual degrees of freedom (minimum {dof})"
    decisions, cells = [], []
    for c in result.coefficients:
        label = (c.term,)
        decisions.append(Decision(label, rule, params, "suppress" if blocked else "publish", words))
        value = None if blocked else c.estimate
        cells.append(PublishedCell(label, value, blocked, False, (rule,) if blocked else ()))
    extra = {"model": result.model, "residual_df": result.residual_df,
             "std_errors": {c.term: (None if blocked else c.std_error) for c in result.coefficients}}
    return ProtectedOutput(result.kind, result.title, ("term",), tuple(cells), tuple(decisions),
                           policy.to_dict(), policy.sha256, extra)
