"""Library search: full text with ranking and highlighted matches, facets, sorting.

The engine follows the operational store's dialect, so the library needs no service of its own:

- **SQLite** (the embedded default): an FTS5 table with the Porter stemmer, ranked by BM25 with
  the title weighted 5x the body.
- **PostgreSQL** (production): ``to_tsvector('english', ...)`` behind a GIN index (migration
  0012), ``to_tsquery`` of prefix terms, ranked by ``ts_rank_cd``.

Both are in-database and transactional with the record writes (a saved record is searchable at
once). The database finds and ranks the matches; facet counts, facet filters, sorting and paging
run over an in-memory index (``phta.catalogue.facet_index``), and the page's snippets are cut
from its records here -- together p95 well under 20 ms over 10,000 records (bench/library_search.py).

The user's words are bound parameters. On SQLite each word is quoted into an FTS5 string (a
quote inside doubles), so FTS5's query syntax (``NEAR``, ``column:``, ``*``) cannot be injected.
Matches come back wrapped in two control characters that no record text holds; the page escapes
the snippet first and only then turns the markers into ``<mark>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
from markupsafe import Markup, escape
from sqlalchemy import bindparam, text

from phta.catalogue.facet_index import facet_index
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


def _matches(database: Database, found: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(dataset ids, scores: lower is better) of the records matching every word."""
    if database.dialect == "sqlite":
        query = text("SELECT rowid, bm25(dataset_fts, 5.0, 1.0) FROM dataset_fts WHERE dataset_fts MATCH :match")
        params = {"match": _fts5_match(found)}
    else:
        query = text(f"SELECT id, -ts_rank_cd({PG_VECTOR}, q) FROM dataset_record, "
                     f"to_tsquery('english', :match) AS q WHERE {PG_VECTOR} @@ q")
        params = {"match": _tsquery(found)}
    with database.session() as s:
        rows = s.execute(query, params).all()
    return np.array([r[0] for r in rows], dtype=np.int64), np.array([r[1] for r in rows], dtype=np.float64)


PG_VECTOR = "to_tsvector('english', title || ' ' || search_text)"


def _tsquery(found: list[str]) -> str:
    """Words as a tsquery of prefix terms joined by AND; each word is letters and digits only
    (``WORD``), so no tsquery operator can come from the user."""
    return " & ".join(f"{w}:*" for w in found)


def _stem(word: str) -> str:
    """A word's look-alike stem for highlighting (the engines stem properly; this only has to
    find the words they matched in a short snippet)."""
    w = word.casefold()
    for ending in ("ing", "es", "ed", "s"):
        if len(w) > len(ending) + 3 and w.endswith(ending):
            return w[: -len(ending)]
    return w


def snippet(body: str, found: list[str], width: int = 200) -> str:
    """About ``width`` characters of ``body`` around the first match, matches between START/STOP."""
    if not found:
        return body[:width] + ("…" if len(body) > width else "")
    pattern = re.compile(r"\b(?:" + "|".join(re.escape(_stem(w)) for w in found) + r")\w*", re.IGNORECASE)
    first = pattern.search(body)
    start = max(0, (first.start() if first else 0) - width // 3)
    if start:
        start = body.find(" ", start) + 1 or start  # begin on a word
    shown = " ".join(body[start:start + width].split())
    marked = pattern.sub(lambda m: f"{START}{m.group(0)}{STOP}", shown)
    return ("… " if start else "") + marked + (" …" if start + width < len(body) else "")


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
    index = facet_index(database)
    mask = np.zeros(len(index.ids), dtype=bool)
    score = np.zeros(len(index.ids), dtype=np.float64)
    if found:
        ids, scores = _matches(database, found)
        rows = index.rows_of(ids)
        mask[rows] = True
        score[index.rows_of(ids)] = scores[np.isin(ids, index.ids)]
    else:
        mask[:] = True
    for facet, values in filters.items():
        chosen = np.zeros(len(index.ids), dtype=bool)
        chosen[index.rows_with(facet, values)] = True
        mask &= chosen
    rows = np.nonzero(mask)[0]
    keys = {"relevance": (index.title_rank[rows], score[rows]),
            "title": (index.title_rank[rows],),
            "modified": (index.title_rank[rows], -index.modified[rows]),
            "population": (index.title_rank[rows], -index.population[rows]),
            "completeness": (index.title_rank[rows], -index.completeness[rows])}[sort]
    page_rows = rows[np.lexsort(keys)][offset:offset + limit]  # lexsort: the last key sorts first
    page_ids = [int(i) for i in index.ids[page_rows]]
    counts = index.counts(mask)
    hits = []
    if page_ids:
        with database.session() as s:
            details = {r[0]: r for r in s.execute(text(
                "SELECT id, title, organisation, node, completeness, population_size, search_text "
                "FROM dataset_record WHERE id IN :ids").bindparams(bindparam("ids", expanding=True)),
                {"ids": page_ids})}
        hits = [Hit(i, d[1], snippet(d[6], found), d[2], d[3], d[4], d[5])
                for i in page_ids if (d := details.get(i)) is not None]
    ordered = {f: dict(sorted(counts.get(f, {}).items(), key=lambda kv: (-kv[1], kv[0])) if f != "coverage_year"
                       else sorted(counts.get(f, {}).items())) for f in FACETS}
    return SearchResult(query, int(mask.sum()), hits, ordered, filters, sort)
