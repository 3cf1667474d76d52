"""The public listings: the asset directory, opportunities, challenges, events (and iCalendar).

A listing with a closing date is shown up to and including that date and not after; ``today``
comes from the caller's clock, so tests decide what "today" is.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import date, datetime

from icalendar import Calendar, Event
from sqlalchemy import select

from phta.frontdoor.vocabulary import ASSET_KINDS, OPPORTUNITY_KINDS, RESPONDER_KINDS, SECTORS
from phta.store import Database
from phta.store.models import (
    FrontdoorAsset,
    FrontdoorChallenge,
    FrontdoorChallengeResponse,
    FrontdoorEvent,
    FrontdoorOpportunity,
    FrontdoorPartner,
    FrontdoorPathway,
)


@dataclass(frozen=True)
class AssetView:
    slug: str
    name: str
    kind: str
    summary: str
    expertise: list[str]
    capabilities: list[str]
    sectors: list[str]
    datasets: list[str]
    location: str
    availability: str | None
    contact_route: str
    sample_data: bool

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _asset(row: FrontdoorAsset) -> AssetView:
    return AssetView(row.slug, row.name, row.kind, row.summary, json.loads(row.expertise),
                     json.loads(row.capabilities), json.loads(row.sectors), json.loads(row.datasets),
                     row.location, row.availability, row.contact_route, row.sample_data)


def node_store_assets(nodes) -> list[AssetView]:
    """The region's node stores, shown as datasets until the regional library lands (issue 20)."""
    return [AssetView(f"node-{n.code.lower()}", f"{n.name} (node {n.code})", "node_store",
                      "A hospital's OMOP CDM node of the regional network; count patients with network "
                      "feasibility, then apply for access.", [], ["network feasibility", "access requests"],
                      [], ["OMOP CDM v5.4"], "", None, "Sign in and use network feasibility", False)
            for n in nodes]


def assets(database: Database, *, q: str = "", kind: str = "", sector: str = "",
           extra: list[AssetView] = ()) -> list[AssetView]:
    """The directory, filtered: ``q`` searches name, summary, expertise and capabilities."""
    with database.session() as session:
        found = [_asset(r) for r in session.scalars(select(FrontdoorAsset).order_by(FrontdoorAsset.name))]
    found += list(extra)
    words = q.lower().split()

    def keep(a: AssetView) -> bool:
        text = " ".join([a.name, a.summary, *a.expertise, *a.capabilities, *a.datasets]).lower()
        return ((not kind or a.kind == kind) and (not sector or sector in a.sectors)
                and all(w in text for w in words))

    return [a for a in found if keep(a)]


def asset_names(database: Database) -> dict[str, str]:
    with database.session() as session:
        return dict(session.execute(select(FrontdoorAsset.slug, FrontdoorAsset.name)).all())


def partners(database: Database) -> dict[str, FrontdoorPartner]:
    with database.session() as session:
        return {p.slug: p for p in session.scalars(select(FrontdoorPartner))}


def pathways(database: Database) -> dict[str, FrontdoorPathway]:
    with database.session() as session:
        return {p.slug: p for p in session.scalars(select(FrontdoorPathway).order_by(FrontdoorPathway.id))}


def _open(closes_on: str | None, today: date) -> bool:
    return closes_on is None or date.fromisoformat(closes_on) >= today


def opportunities(database: Database, today: date, kind: str = "") -> list[FrontdoorOpportunity]:
    with database.session() as session:
        rows = session.scalars(select(FrontdoorOpportunity).order_by(FrontdoorOpportunity.closes_on,
                                                                     FrontdoorOpportunity.title))
        return [r for r in rows if _open(r.closes_on, today) and (not kind or r.kind == kind)]


def challenges(database: Database, today: date) -> list[FrontdoorChallenge]:
    with database.session() as session:
        rows = session.scalars(select(FrontdoorChallenge).order_by(FrontdoorChallenge.closes_on))
        return [r for r in rows if _open(r.closes_on, today)]


def challenge(database: Database, challenge_id: int, today: date) -> FrontdoorChallenge | None:
    with database.session() as session:
        row = session.get(FrontdoorChallenge, challenge_id)
    return row if row is not None and _open(row.closes_on, today) else None


def respond_to_challenge(database: Database, user_id: int, challenge_id: int, raw: dict,
                         now: datetime) -> int | str | None:
    """Record a response to an open challenge: its id; None if the challenge is closed or
    missing; a message naming the field if the response is not valid."""
    challenge_row = challenge(database, challenge_id, now.date())
    if challenge_row is None:
        return None
    kind, summary = raw.get("responder_kind"), raw.get("summary")
    if not isinstance(kind, str) or kind not in RESPONDER_KINDS:
        return f"You are: choose one of {', '.join(RESPONDER_KINDS.values())}"
    if not isinstance(summary, str) or not summary.strip() or len(summary) > 5000:
        return "Your response: write 1 to 5,000 characters"
    with database.session() as session:
        row = FrontdoorChallengeResponse(challenge_id=challenge_row.id, user_id=user_id, responder_kind=kind,
                                         summary=summary.strip(), created_at=now)
        session.add(row)
        session.flush()
        return row.id


CHALLENGE_KINDS = {"clinical": "Clinical", "data": "Data"}


@dataclass(frozen=True)
class ChallengeOwner:
    """What authorisation needs to know about a challenge: who posted it."""

    applicant_user_id: int | None


def owner_of(row: FrontdoorChallenge) -> ChallengeOwner:
    return ChallengeOwner(row.posted_by_user_id)


def post_challenge(database: Database, user_id: int, raw: dict, today: date) -> int | dict[str, str]:
    """Post a challenge on the board: its id, or the problems by field."""
    problems: dict[str, str] = {}
    values = {k: raw.get(k) for k in ("title", "kind", "summary", "posted_by", "closes_on")}
    for key, limit in (("title", 300), ("summary", 5000), ("posted_by", 200)):
        v = values[key]
        if not isinstance(v, str) or not v.strip() or len(v) > limit:
            problems[key] = f"{key.replace('_', ' ').capitalize()}: 1 to {limit:,} characters"
    if values["kind"] not in CHALLENGE_KINDS:
        problems["kind"] = "Kind: clinical or data"
    closes = values["closes_on"]
    try:
        closes = date.fromisoformat(closes) if isinstance(closes, str) and closes else None
        if closes is not None and closes < today:
            problems["closes_on"] = "Closes on: a date from today onward"
    except ValueError:
        problems["closes_on"] = "Closes on: a date (YYYY-MM-DD)"
    if problems:
        return problems
    with database.session() as session:
        slug = f"challenge-{secrets.token_hex(6)}"
        row = FrontdoorChallenge(slug=slug, title=values["title"].strip(), kind=values["kind"],
                                 summary=values["summary"].strip(), posted_by=values["posted_by"].strip(),
                                 posted_by_user_id=user_id, closes_on=closes.isoformat() if closes else None,
                                 sample_data=False)
        session.add(row)
        session.flush()
        return row.id


def challenge_responses(database: Database, challenge_id: int) -> list[FrontdoorChallengeResponse]:
    with database.session() as session:
        return list(session.scalars(select(FrontdoorChallengeResponse)
                                    .where(FrontdoorChallengeResponse.challenge_id == challenge_id)
                                    .order_by(FrontdoorChallengeResponse.id)))


def events(database: Database, today: date) -> list[FrontdoorEvent]:
    """Events still to come whose registration has not closed."""
    with database.session() as session:
        rows = session.scalars(select(FrontdoorEvent).order_by(FrontdoorEvent.starts_at))
        return [r for r in rows if _open(r.closes_on, today) and r.ends_at.date() >= today]


def icalendar(rows: list[FrontdoorEvent], host: str) -> bytes:
    """RFC 5545 calendar of ``rows`` (each event's UID is stable: its slug at this host)."""
    cal = Calendar()
    cal.add("prodid", "-//PHTA//Regional events//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", "PHTA regional life-sciences events")
    for row in rows:
        event = Event()
        event.add("uid", f"{row.slug}@{host}")
        event.add("summary", row.title)
        event.add("description", row.summary + (" (sample data)" if row.sample_data else ""))
        event.add("location", row.location)
        event.add("dtstart", row.starts_at)
        event.add("dtend", row.ends_at)
        event.add("dtstamp", row.starts_at)
        event.add("categories", [row.kind])
        cal.add_component(event)
    return cal.to_ical()


FILTERS = {"kinds": ASSET_KINDS, "sectors": SECTORS, "opportunity_kinds": OPPORTUNITY_KINDS}
