"""Load the region fixture (``region.yaml``: assets, partners, pathways, listings) into the store.

Idempotent: a row whose slug exists is left as it is (an operator may have edited it), so
``phta demo`` can run again. The fixture is validated field by field; a bad value is an error
naming the section, the entry and the field.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import yaml
from sqlalchemy import select

from phta.frontdoor.vocabulary import ASSET_KINDS, OPPORTUNITY_KINDS, SECTORS
from phta.store import Database
from phta.store.models import (
    FrontdoorAsset,
    FrontdoorChallenge,
    FrontdoorEvent,
    FrontdoorOpportunity,
    FrontdoorPartner,
    FrontdoorPathway,
)

REGION_FILE = Path(__file__).with_name("region.yaml")
_LISTS = ("expertise", "capabilities", "sectors", "datasets")
_MODELS = {"assets": FrontdoorAsset, "partners": FrontdoorPartner, "pathways": FrontdoorPathway,
           "opportunities": FrontdoorOpportunity, "challenges": FrontdoorChallenge, "events": FrontdoorEvent}


class FixtureError(ValueError):
    pass


def _check(section: str, entry: dict, where: str) -> dict:
    row = dict(entry)
    if section == "assets":
        if row.get("kind") not in ASSET_KINDS:
            raise FixtureError(f"{where}: kind: {row.get('kind')!r} is not one of {sorted(ASSET_KINDS)}")
        for name in _LISTS:
            values = row.get(name, [])
            if not isinstance(values, list):
                raise FixtureError(f"{where}: {name}: expected a list")
            if name == "sectors" and set(values) - set(SECTORS):
                raise FixtureError(f"{where}: sectors: unknown {sorted(set(values) - set(SECTORS))}")
            row[name] = json.dumps(values)
    if section == "opportunities" and row.get("kind") not in OPPORTUNITY_KINDS:
        raise FixtureError(f"{where}: kind: {row.get('kind')!r} is not one of {sorted(OPPORTUNITY_KINDS)}")
    if "closes_on" in row and row["closes_on"] is not None:
        try:
            row["closes_on"] = date.fromisoformat(str(row["closes_on"])).isoformat()
        except ValueError:
            raise FixtureError(f"{where}: closes_on: {row['closes_on']!r} is not a date (YYYY-MM-DD)") from None
    for name in ("starts_at", "ends_at"):
        if name in row:
            try:
                row[name] = datetime.fromisoformat(str(row[name]))
            except ValueError:
                raise FixtureError(f"{where}: {name}: {row[name]!r} is not a date-time") from None
    return row


def load_fixture(path: Path = REGION_FILE) -> dict[str, list[dict]]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise FixtureError(f"{path.name}: not valid YAML{where}") from None
    out: dict[str, list[dict]] = {}
    for section, model in _MODELS.items():
        columns = set(model.__table__.columns.keys()) - {"id"}
        rows = []
        for i, entry in enumerate(data.get(section) or [], start=1):
            where = f"{path.name}: {section}[{i}] ({entry.get('slug', '?') if isinstance(entry, dict) else '?'})"
            if not isinstance(entry, dict):
                raise FixtureError(f"{where}: expected a mapping of fields")
            unknown = set(entry) - columns
            if unknown:
                raise FixtureError(f"{where}: unknown field(s) {sorted(unknown)}")
            rows.append(_check(section, entry, where))
        out[section] = rows
    return out


def seed_region(database: Database, path: Path = REGION_FILE) -> dict[str, int]:
    """Insert the fixture's rows that are missing; return how many of each were added."""
    fixture = load_fixture(path)
    added: dict[str, int] = {}
    with database.session() as session:
        for section, rows in fixture.items():
            model = _MODELS[section]
            existing = set(session.scalars(select(model.slug)))
            new = [row for row in rows if row["slug"] not in existing]
            session.add_all(model(**row) for row in new)
            added[section] = len(new)
    return added
