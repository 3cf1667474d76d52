"""The hub's aggregating Beacon: one Beacon request through the governed path on every node.

Each node answers through ``phta.execution.governed.run_governed`` under the standing purpose
``public_beacon`` (governance's ``beacon`` disclosure policy, the opt-out registers, the purpose's
vocabulary, the audit chain), so only protected counts leave a node. The request is admitted once
(vocabulary, then one unit of the caller's daily budget; an anonymous caller's budget is kept per
client address) before any node runs.

Granularity by security level:

- the public (no sign-in) get a boolean, true only when some node published a count (at or above
  the threshold). A node whose count is 0 and one whose count is 1..threshold-1 give the same
  answer, so ``exists: false`` never reveals that a rare variant exists;
- signed-in users get the protected count (the sum of the nodes' published counts); a count
  below the threshold at a node adds 0, exactly as a true 0 does, so again nothing tells them apart.
Record-level granularity is never given.
"""

from __future__ import annotations

from dataclasses import dataclass

from phta.config import Settings
from phta.execution.admission import admit_network_request
from phta.execution.governed import run_governed
from phta.execution.network import NetworkFeasibility, NodeStore, gather, region_stores
from phta.governance.principal import Principal
from phta.query import ir, serial
from phta.store import Database

BEACON_PURPOSE = "public_beacon"


@dataclass(frozen=True)
class SiteCount:
    name: str
    count: int  # published count, or 0 when below the threshold (the two look alike)
    taken_part: bool


@dataclass(frozen=True)
class BeaconAnswer:
    granularity: str  # "boolean" or "count": what the caller may see
    exists: bool
    count: int  # 0 for boolean answers
    threshold: int
    sites: tuple[SiteCount, ...]  # empty for boolean answers


def granularity_for(principal: Principal | None, requested: str) -> str:
    """The public get booleans; a signed-in user gets counts if they asked for more than a boolean."""
    if principal is None or requested == "boolean":
        return "boolean"
    return "count"


def anonymous_actor(client_address: str) -> str:
    return f"anonymous@{client_address}"


def answer(settings: Settings, database: Database, principal: Principal | None, cohort: ir.Cohort, *,
           requested: str, client_address: str, stores: list[NodeStore] | None = None) -> BeaconAnswer:
    """Run ``cohort`` on every node; raises VocabularyRefused, BudgetExhausted or NotAuthorised
    (all audited) before any node runs when the request is refused."""
    actor = None if principal is not None else anonymous_actor(client_address)
    admit_network_request(settings, database, principal, BEACON_PURPOSE, cohort, actor=actor)
    nodes = region_stores(settings) if stores is None else stores
    outcome = gather(NetworkFeasibility(serial.content_hash(cohort), BEACON_PURPOSE), nodes,
                     lambda node: run_governed(settings, database, principal, BEACON_PURPOSE, cohort, node.path,
                                               outputs=("count",), charge_budget=False))
    granularity = granularity_for(principal, requested)
    total = outcome.total
    count = 0 if total.suppressed else total.value
    published = {node.code: result.total for node, result in outcome.nodes}
    sites = []
    for node in nodes:  # in the region's order, whether or not the node took part
        cell = published.get(node.code)
        sites.append(SiteCount(node.name, 0 if cell is None or cell.suppressed else int(cell.value or 0),
                               cell is not None))
    threshold = outcome.threshold
    if granularity == "boolean":
        return BeaconAnswer("boolean", count > 0, 0, threshold, ())
    return BeaconAnswer("count", count > 0, count, threshold, tuple(sites))


_TERMS_CACHE: dict[tuple[str, str], frozenset[str]] = {}


def present_terms(settings: Settings, database: Database, *, stores: list[NodeStore] | None = None) -> frozenset[str]:
    """The filtering terms found in at least a threshold's worth of persons at some node (each
    term's count is protected at its node: a term below the threshold everywhere is not listed).
    The service's own listing, not a user's query: not charged to anyone, kept for the UTC day."""
    import datetime as dt

    from phta.beacon.requests import SEX_TERMS, condition_terms, filter_rule

    key = (str(settings.stores_dir), dt.datetime.now(dt.UTC).date().isoformat())
    if stores is None and key in _TERMS_CACHE:
        return _TERMS_CACHE[key]
    nodes = region_stores(settings) if stores is None else stores
    found = set()
    for term in (*SEX_TERMS, *condition_terms()):
        cohort = ir.Cohort(ir.Literal("date", dt.date(2100, 1, 1)), (filter_rule(term),), strata=())
        outcome = gather(NetworkFeasibility(serial.content_hash(cohort), BEACON_PURPOSE), nodes,
                         lambda node, c=cohort: run_governed(settings, database, None, BEACON_PURPOSE, c, node.path,
                                                             outputs=("count",), charge_budget=False))
        if not outcome.total.suppressed and outcome.total.value > 0:
            found.add(term)
    if stores is None:
        _TERMS_CACHE[key] = frozenset(found)
    return frozenset(found)
