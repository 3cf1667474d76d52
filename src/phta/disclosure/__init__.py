"""phta.disclosure — statistical disclosure control on typed aggregate results (see DESIGN.md).

Pure functions: no database, no web. The execution path calls ``check(result, policy)`` on every
result before it leaves; the hub calls it again on what arrived. Modules:

- ``results``: the typed aggregates (frequency/magnitude tables, percentiles, models, time series)
- ``policy``: the rules' parameters, built-ins and YAML/JSON files with per-node overrides
- ``check`` / ``tables`` / ``secondary``: primary rules, LP-audited secondary suppression, rounding
- ``cellkey``: the cell-key method (``record_key``, ``cell_key``, ``perturb``)
- ``ledger``: the release ledger kept at the node, and differencing checks
- ``file_checks``: automatic checks on files submitted to the airlock
- ``table_files``: reading a crosstab CSV or result JSON for ``phta outputs check``
"""

from phta.disclosure.cellkey import cell_key, default_ptable, perturb, record_key
from phta.disclosure.check import check
from phta.disclosure.decisions import Decision, ProtectedOutput, PublishedCell
from phta.disclosure.policy import Policy, PolicyError, load_policy

__all__ = [
    "Decision",
    "Policy",
    "PolicyError",
    "ProtectedOutput",
    "PublishedCell",
    "cell_key",
    "check",
    "default_ptable",
    "load_policy",
    "perturb",
    "record_key",
]
