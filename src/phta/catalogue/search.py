"""Library search: full text with ranking and highlighted matches, facets, sorting.

The engine follows the operational store's dialect, so the library needs no service of its own:

- **SQLite** (the embedded default): an FTS5 table with the Porter stemmer, ranked by BM25 with
  the title weighted 5x the body; ``snippet()`` marks the matches.
- **PostgreSQL** (production): ``to_tsvector('english', ...)`` behind a GIN index (migration
  0012), ``websearch_to_tsquery``, ranked by ``ts_rank_cd``; ``ts_headline`` marks the matches.

Both are in-database, transactional with the record writes (a saved record is searchable at once),
and fast enough for a regional library of tens of thousands of records (bench/library_search.py).

The user's words are bound parameters. On SQLite each word is quoted into an FTS5 string (a
quote inside doubles), so FTS5's query syntax (``NEAR``, ``column:``, ``*``) cannot be injected.
Matches come back wrapped in two control characters that no record text holds; the page escapes
the snippet first and only then turns the markers into ``<mark>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from markupsafe import Markup, escape
from sqlalchemy import bindparam, text

from phta.store import Database

FACETS = {"custodian": "Custodian", "data_type": "Data type", "standard": "Standards",
          "coverage_year": "Coverage years", "population": "Population size", "access_route": "Access route",
          "node": "Node"}
SORTS = ("relevance", "title", "modified", "population", "completeness")
START, STOP = "\x02", "\x03"
WORD = re.compile(r"\w+", re.UNICODE)
MAX_WORDS = 12


class SearchError(ValueError):
    pass


@dataclass(frozen=True)
class Hit:
    id: int
    title: str
    snippet: str  # with START/STOP markers around matches; see highlighted()
    custodian: str
    node: str | None
    completeness: int
    population_size: int | None

    def highlighted(self) -> Markup:
        # escaped first, then the markers (which record text never holds) become tags
        return Markup(str(escape(self.snippet)).replace(START, "<mark>").replace(STOP, "</mark>"))  # noqa: S704

    def as_dict(self) -> dict:
        return {"id": self.id, "title": self.title, "custodian": self.custodian, "node": self.node,
                "completeness": self.completeness, "population_size": self.population_size,
                "highlight": str(self.highlighted()), "url": f"/library/datasets/{self.id}"}


@dataclass
class SearchResult:
    query: str
    total: int
    hits: list[Hit]
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    filters: dict[str, list[str]] = field(default_factory=dict)
    sort: str = "relevance"

    def as_dict(self) -> dict:
        return {"query": self.query, "total": self.total, "sort": self.sort, "filters": self.filters,
                "hits": [h.as_dict() for h in self.hits], "facets": self.facets}


def words(query: str) -> list[str]:
    found = WORD.findall(query or "")
    if len(found) > MAX_WORDS:
        raise SearchError(f"q: at most {MAX_WORDS} words, please")
    return found


def _fts5_match(found: list[str]) -> str:
    """Each word an FTS5 string with prefix matching; all words must match."""
    return " ".join('"' + w.replace('"', '""') + '"*' for w in found)


def search(database: Database, query: str = "", *, filters: dict[str, list[str]] | None = None,
           sort: str = "relevance", limit: int = 20, offset: int = 0) -> SearchResult:
    filters = {f: list(v) for f, v in (filters or {}).items() if v}
    for f in filters:
        if f not in FACETS:
            raise SearchError(f"unknown facet {f!r}; facets: {', '.join(FACETS)}")
    if sort not in SORTS:
        raise SearchError(f"sort: {sort!r} is not one of {', '.join(SORTS)}")
    if not 1 <= limit <= 100 or offset < 0:
        raise SearchError("limit must be 1..100 and offset 0 or more")
    found = words(query)
    sqlite = database.dialect == "sqlite"
    params: dict = {"limit": limit, "offset": offset}
    binds = []
    if found and sqlite:
        matching = ("SELECT rowid AS id, bm25(dataset_fts, 5.0, 1.0) AS score, "
                    "snippet(dataset_fts, 1, :start, :stop, ' … ', 24) AS snip "
                    "FROM dataset_fts WHERE dataset_fts MATCH :match")
        params |= {"match": _fts5_match(found), "start": START, "stop": STOP}
    elif found:
        matching = ("SELECT id, -ts_rank_cd(to_tsvector('english', title || ' ' || search_text), q) AS score, "
                    "ts_headline('english', search_text, q, :headline) AS snip "
                    "FROM dataset_record, websearch_to_tsquery('english', :match) AS q "
                    "WHERE to_tsvector('english', title || ' ' || search_text) @@ q")
        params |= {"match": " ".join(found),
                   "headline": f"StartSel={START}, StopSel={STOP}, MaxWords=30, MinWords=12"}
    else:
        matching = "SELECT id, 0 AS score, substr(search_text, 1, 200) AS snip FROM dataset_record"
    where = []
    for i, (facet, values) in enumerate(sorted(filters.items())):
        where.append(f"m.id IN (SELECT dataset_id FROM dataset_facet WHERE facet = :f{i} AND value IN :v{i})")
        params |= {f"f{i}": facet, f"v{i}": values}
        binds.append(bindparam(f"v{i}", expanding=True))
    filtered = f"SELECT m.id, m.score, m.snip FROM ({matching}) AS m" + (" WHERE " + " AND ".join(where) if where else "")
    order = {"relevance": "h.score, r.title", "title": "r.title", "modified": "r.modified_at DESC, r.title",
             "population": "CASE WHEN r.population_size IS NULL THEN 1 ELSE 0 END, r.population_size DESC, r.title",
             "completeness": "r.completeness DESC, r.title"}[sort]
    page = text(f"""WITH h AS ({filtered})
        SELECT r.id, r.title, h.snip, r.organisation, r.node, r.completeness, r.population_size
        FROM h JOIN dataset_record r ON r.id = h.id ORDER BY {order} LIMIT :limit OFFSET :offset""").bindparams(*binds)
    count = text(f"SELECT count(*) FROM ({filtered}) AS h").bindparams(*binds)
    facet_counts = text(f"""WITH h AS ({filtered})
        SELECT f.facet, f.value, count(*) FROM dataset_facet f JOIN h ON h.id = f.dataset_id
        GROUP BY f.facet, f.value""").bindparams(*binds)
    with database.session() as s:
        hits = [Hit(r[0], r[1], r[2] or "", r[3], r[4], r[5], r[6]) for r in s.execute(page, params)]
        total = s.execute(count, params).scalar_one()
        counts: dict[str, dict[str, int]] = {f: {} for f in FACETS}
        for facet, value, n in s.execute(facet_counts, params):
            counts.setdefault(facet, {})[value] = n
    ordered = {f: dict(sorted(v.items(), key=lambda kv: (-kv[1], kv[0])) if f != "coverage_year"
                       else sorted(v.items())) for f, v in counts.items()}
    return SearchResult(query, total, hits, ordered, filters, sort)
