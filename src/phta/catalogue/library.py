"""The library's records in the operational store: save (validated), read, delete, collections,
and the data-uses register.

Every write validates the record against the HDR UK schema, recomputes its completeness score
and its facet rows, and keeps the full-text index in step (SQLite: the ``dataset_fts`` FTS5
table; PostgreSQL indexes the row itself, see ``phta.catalogue.search``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, select, text

from phta.catalogue.records import completeness, get, validate
from phta.governance import register
from phta.governance.principal import Principal
from phta.governance.roles import Role
from phta.node_names import same_node
from phta.store import Database
from phta.store.models import (
    DatasetCollection,
    DatasetCollectionMember,
    DatasetFacet,
    DatasetRecord,
)

POPULATION_BANDS = ((0, "under 1,000"), (1_000, "1,000-9,999"), (10_000, "10,000-99,999"),
                    (100_000, "100,000-999,999"), (1_000_000, "1 million or more"))


class DatasetNotFound(LookupError):
    pass


class NotCustodian(PermissionError):
    pass


@dataclass(frozen=True)
class Dataset:
    id: int
    node: str | None
    organisation: str
    title: str
    record: dict
    completeness: int
    population_size: int | None
    modified_at: datetime

    def summary(self) -> dict:
        return {"id": self.id, "title": self.title, "node": self.node, "custodian": self.organisation,
                "completeness": self.completeness, "population_size": self.population_size,
                "modified": self.modified_at.isoformat(), "url": f"/library/datasets/{self.id}"}


def _dataset(row: DatasetRecord) -> Dataset:
    return Dataset(row.id, row.node, row.organisation, row.title, json.loads(row.record), row.completeness,
                   row.population_size, row.modified_at)


def population_band(size: int | None) -> str:
    if size is None or size < 0:
        return "not known"
    return next(label for bound, label in reversed(POPULATION_BANDS) if size >= bound)


def _years(record: dict) -> list[str]:
    start = str(get(record, "provenance.temporal.startDate") or "")[:4]
    end = str(get(record, "provenance.temporal.endDate") or "")[:4]
    if not start.isdigit():
        return []
    last = int(end) if end.isdigit() else datetime.now(UTC).year
    return [str(y) for y in range(int(start), max(int(start), last) + 1)][:200]


def facets_of(record: dict, node: str | None) -> set[tuple[str, str]]:
    """The (facet, value) pairs search filters and counts on."""
    values: set[tuple[str, str]] = {("custodian", str(get(record, "summary.dataCustodian.name")))}
    for t in get(record, "provenance.origin.datasetType") or []:
        values.add(("data_type", t["name"]))
    for key in ("conformsTo", "vocabularyEncodingScheme"):
        for s in get(record, f"accessibility.formatAndStandards.{key}") or []:
            values.add(("standard", str(s)))
    values.update(("coverage_year", y) for y in _years(record))
    values.add(("population", population_band(get(record, "summary.populationSize"))))
    route = get(record, "accessibility.access.accessServiceCategory")
    values.add(("access_route", str(route) if route else "not stated"))
    if node:
        values.add(("node", node))
    return {(f, v[:200]) for f, v in values}


def search_text(record: dict) -> str:
    """What full-text search reads besides the title: the words a researcher would look for."""
    parts = [get(record, "summary.abstract"), " ".join(get(record, "summary.keywords") or []),
             get(record, "documentation.description"), get(record, "coverage.spatial"),
             " ".join(t["name"] for t in get(record, "provenance.origin.datasetType") or []),
             " ".join(t.get("name") or "" for t in get(record, "structuralMetadata.tables") or [])]
    joined = "\n".join(dict.fromkeys(p for p in parts if p))
    # search's highlight markers: record text never carries them, so it cannot forge a <mark>
    return joined.replace("\x02", " ").replace("\x03", " ")


def _population(record: dict) -> int | None:
    size = get(record, "summary.populationSize")
    return size if isinstance(size, int) and size >= 0 else None


def save(database: Database, record: dict, *, node: str | None, dataset_id: int | None = None) -> Dataset:
    """Insert or replace a record (validated first: ``RecordInvalid`` names the fields)."""
    validate(record)
    now = datetime.now(UTC)
    with database.session() as s:
        row = s.get(DatasetRecord, dataset_id) if dataset_id is not None else None
        if dataset_id is not None and row is None:
            raise DatasetNotFound(f"dataset {dataset_id} is not in the library")
        if row is None:
            row = DatasetRecord(created_at=now)
            s.add(row)
        row.node = node
        row.organisation = str(get(record, "summary.dataCustodian.name"))
        row.title = str(get(record, "summary.title"))
        row.record = json.dumps(record, sort_keys=True, ensure_ascii=False)
        row.search_text = search_text(record)
        row.completeness = completeness(record)
        row.population_size = _population(record)
        row.modified_at = now
        s.flush()
        s.execute(delete(DatasetFacet).where(DatasetFacet.dataset_id == row.id))
        s.add_all(DatasetFacet(dataset_id=row.id, facet=f, value=v) for f, v in sorted(facets_of(record, node)))
        if database.dialect == "sqlite":
            s.execute(text("DELETE FROM dataset_fts WHERE rowid = :id"), {"id": row.id})
            s.execute(text("INSERT INTO dataset_fts (rowid, title, body) VALUES (:id, :title, :body)"),
                      {"id": row.id, "title": row.title, "body": row.search_text})
        s.flush()
        return _dataset(row)


def dataset(database: Database, dataset_id: int) -> Dataset:
    with database.session() as s:
        row = s.get(DatasetRecord, dataset_id)
        if row is None:
            raise DatasetNotFound(f"dataset {dataset_id} is not in the library")
        return _dataset(row)


def datasets(database: Database, *, node: str | None = None) -> list[Dataset]:
    with database.session() as s:
        rows = s.scalars(select(DatasetRecord).order_by(DatasetRecord.title))
        # a node named in any spelling (a link's "xt001") finds the records of XT001
        return [_dataset(r) for r in rows if node is None or same_node(r.node, node)]


def remove(database: Database, dataset_id: int) -> None:
    with database.session() as s:
        s.execute(delete(DatasetFacet).where(DatasetFacet.dataset_id == dataset_id))
        s.execute(delete(DatasetCollectionMember).where(DatasetCollectionMember.dataset_id == dataset_id))
        s.execute(delete(DatasetRecord).where(DatasetRecord.id == dataset_id))
        if database.dialect == "sqlite":
            s.execute(text("DELETE FROM dataset_fts WHERE rowid = :id"), {"id": dataset_id})


def may_edit(principal: Principal | None, item: Dataset) -> bool:
    """Hub admins edit any record; data custodians only the records of their own organisation."""
    if principal is None:
        return False
    if principal.has_role(Role.HUB_ADMIN):
        return True
    return principal.has_role(Role.DATA_CUSTODIAN) and bool(principal.organisation) \
        and principal.organisation == item.organisation


def check_may_edit(principal: Principal | None, item: Dataset) -> None:
    if not may_edit(principal, item):
        raise NotCustodian(f"only the data custodians of {item.organisation} (or a hub admin) may edit this record")


# -- collections ----------------------------------------------------------------------------------

def save_collection(database: Database, name: str, description: str, dataset_ids: list[int]) -> int:
    with database.session() as s:
        row = s.scalars(select(DatasetCollection).where(DatasetCollection.name == name)).first()
        if row is None:
            row = DatasetCollection(name=name, description=description, created_at=datetime.now(UTC))
            s.add(row)
            s.flush()
        row.description = description
        s.execute(delete(DatasetCollectionMember).where(DatasetCollectionMember.collection_id == row.id))
        s.add_all(DatasetCollectionMember(collection_id=row.id, dataset_id=i) for i in dict.fromkeys(dataset_ids))
        return row.id


def collections(database: Database) -> list[dict]:
    with database.session() as s:
        found = []
        for c in s.scalars(select(DatasetCollection).order_by(DatasetCollection.name)):
            members = s.execute(
                select(DatasetRecord.id, DatasetRecord.title).join(
                    DatasetCollectionMember, DatasetCollectionMember.dataset_id == DatasetRecord.id)
                .where(DatasetCollectionMember.collection_id == c.id).order_by(DatasetRecord.title)).all()
            found.append({"id": c.id, "name": c.name, "description": c.description,
                          "datasets": [{"id": i, "title": t, "url": f"/library/datasets/{i}"} for i, t in members]})
        return found


# -- the data-uses register -------------------------------------------------------------------------

def data_uses(database: Database, item: Dataset) -> list[dict]:
    """The approved projects (from the public transparency register) that name this dataset or
    were granted its node: public information only."""
    uses = []
    for entry in register.entries(database):
        named = any(item.title.casefold() == d.casefold() for d in entry.datasets)
        on_node = item.node is not None and any(same_node(item.node, n) for n in entry.nodes)
        if named or on_node:
            uses.append({"project_id": entry.project_id, "title": entry.title, "organisation": entry.organisation,
                         "approved": entry.approved, "status": entry.status,
                         "public_benefit": entry.public_benefit, "url": f"/register/{entry.project_id}"})
    return uses
