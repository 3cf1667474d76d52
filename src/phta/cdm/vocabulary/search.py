"""Search a store's OMOP vocabulary by text (ranked, typo-tolerant) and by code; show a concept.

Read-only: every function takes a connection opened by the caller (``store.connect(read_only=
True)``) and only reads ``concept``, ``concept_ancestor``, ``concept_relationship`` and the token
index (``search_index``). Vocabulary tables are reference data, not patient data; the number of
persons with a concept is patient data and is NOT here (it goes through ``phta.execution``).

Ranking of a text query, per concept: each query word scores its best match among the
concept's words (1.0 the same word, 0.9 a word it begins, 0.8 x Jaro-Winkler similarity for a
near spelling of a word of 4+ letters; at most the 16 best such words stand for one query word);
concepts matching every query word come first, then
standard concepts, then an exact or leading name match, then shorter names. A query that is a
code (``SNOMED:44054006``, ``ICD10:E11.9``, or a bare ``E11.9`` / ``4548-4``) finds the concept
with that code first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import duckdb

from phta.cdm.vocabulary.search_index import index_schema, tokens
from phta.cdm.vocabulary.uk_names import uk_name

MAX_QUERY_CHARS = 200
MAX_QUERY_WORDS = 8
MAX_LIMIT = 200
#: How alike two spellings must be (Jaro-Winkler) to count as a typo of each other.
TYPO_SIMILARITY = 0.88
#: At most this many vocabulary words stand for one query word (the exact word, then prefixes
#: and near spellings by score).
MAX_TERMS_PER_WORD = 16

#: Names people write for a vocabulary -> OMOP vocabulary_id (compared lower case, without
#: spaces, dashes, dots and underscores).
VOCABULARY_ALIASES = {
    "snomed": "SNOMED", "snomedct": "SNOMED", "sct": "SNOMED",
    "icd10": "ICD10", "icd10cm": "ICD10CM",
    "dmd": "dm+d", "dm+d": "dm+d",
    "loinc": "LOINC", "rxnorm": "RxNorm", "rxnormextension": "RxNorm Extension",
    "ucum": "UCUM", "opcs4": "OPCS4",
}
_CODE_LIKE = re.compile(r"^[A-Za-z]?\d[\w.\-]*$")
CONCEPT_COLUMNS = ("concept_id", "concept_name", "domain_id", "vocabulary_id", "concept_class_id",
                   "standard_concept", "concept_code", "invalid_reason")
CONCEPT_SELECT = ", ".join(f"c.{col}" for col in CONCEPT_COLUMNS)


class SearchError(ValueError):
    """A query the search cannot take (too long, empty)."""


@dataclass(frozen=True)
class Concept:
    concept_id: int
    concept_name: str
    domain_id: str
    vocabulary_id: str
    concept_class_id: str
    standard_concept: str | None
    concept_code: str
    invalid_reason: str | None = None
    score: float | None = None

    @property
    def display_name(self) -> str:
        """The name as people read it: UK medicine names (``uk_names``)."""
        return uk_name(self.concept_name)

    @property
    def ref(self) -> str:
        return f"{self.vocabulary_id}:{self.concept_code}"

    def to_dict(self) -> dict:
        out = {col: getattr(self, col) for col in CONCEPT_COLUMNS}
        out["display_name"] = self.display_name
        if self.score is not None:
            out["score"] = round(self.score, 3)
        return out


def concepts_from_rows(rows, with_score: bool = False) -> list[Concept]:
    n = len(CONCEPT_COLUMNS)
    return [Concept(*r[:n], score=(float(r[n]) if with_score else None)) for r in rows]


def vocabulary_id(name: str) -> str:
    """The OMOP vocabulary_id for a name people write (``SNOMED CT`` -> ``SNOMED``)."""
    key = re.sub(r"[\s\-._]", "", name.lower())
    return VOCABULARY_ALIASES.get(key, name.strip())


def parse_code(query: str) -> tuple[str | None, str] | None:
    """``(vocabulary_id or None, code)`` when ``query`` reads as a code, else None."""
    q = query.strip()
    if ":" in q:
        vocab, _, code = q.partition(":")
        if vocab.strip() and code.strip() and " " not in code.strip():
            return vocabulary_id(vocab), code.strip()
    if _CODE_LIKE.match(q):
        return None, q
    return None


def by_code(con: duckdb.DuckDBPyConnection, code: str, vocabulary: str | None = None) -> list[Concept]:
    """Concepts with ``code`` (case-insensitive; ICD-10 codes also match without their dot)."""
    schema = index_schema(con)
    rows = con.execute(
        f"""SELECT {CONCEPT_SELECT} FROM {schema}.phta_concept_code k
            JOIN main.concept c ON c.concept_id = k.concept_id
            WHERE k.code_key = upper(replace($code, '.', ''))
              AND ($vocab IS NULL OR lower(c.vocabulary_id) = lower($vocab))
            ORDER BY c.standard_concept = 'S' DESC NULLS LAST, c.vocabulary_id, c.concept_id LIMIT 50""",
        {"code": code, "vocab": vocabulary}).fetchall()
    return concepts_from_rows(rows)


def _text_sql(schema: str, require_all: bool) -> str:
    matched = "= $n" if require_all else ">= least($n, 1)"
    return f"""
    WITH q AS (SELECT unnest($words::VARCHAR[]) AS qt),
    cand AS (
        SELECT q.qt, t.term,
               CASE WHEN t.term = q.qt THEN 1.0
                    WHEN starts_with(t.term, q.qt) THEN 0.9
                    ELSE 0.8 * jaro_winkler_similarity(t.term, q.qt) END AS s
        FROM {schema}.phta_concept_term t, q
        WHERE t.term = q.qt
           OR (length(q.qt) >= 2 AND starts_with(t.term, q.qt))
           OR (length(q.qt) >= 4 AND abs(length(t.term) - length(q.qt)) <= 2
               AND jaro_winkler_similarity(t.term, q.qt) >= {TYPO_SIMILARITY})
        -- the best few spellings per query word (rarer words first among equals): a short
        -- prefix must not drag in the postings of hundreds of words
        QUALIFY row_number() OVER (PARTITION BY q.qt ORDER BY s DESC, t.df, t.term) <= {MAX_TERMS_PER_WORD}),
    best AS (
        SELECT k.concept_id, cand.qt, max(cand.s) AS s
        FROM cand JOIN {schema}.phta_concept_token k ON k.term = cand.term
        GROUP BY k.concept_id, cand.qt),
    scored AS (SELECT concept_id, sum(s) AS s, count(*) AS matched FROM best GROUP BY concept_id
               HAVING count(*) {matched}),
    ranked AS (
        SELECT {CONCEPT_SELECT},
               scored.s + scored.matched
               + CASE WHEN c.standard_concept = 'S' THEN 0.5 ELSE 0 END
               + CASE WHEN lower(c.concept_name) = $phrase THEN 2
                      WHEN starts_with(lower(c.concept_name), $phrase) THEN 0.5 ELSE 0 END
               + CASE WHEN c.invalid_reason IS NULL OR c.invalid_reason = '' THEN 0 ELSE -1 END
               AS score
        FROM scored JOIN main.concept c ON c.concept_id = scored.concept_id
        WHERE ($vocab IS NULL OR lower(c.vocabulary_id) = lower($vocab))
          AND ($domain IS NULL OR lower(c.domain_id) = lower($domain))
          AND (NOT $standard OR c.standard_concept = 'S'))
    SELECT * FROM ranked ORDER BY score DESC, length(concept_name), concept_id LIMIT $limit"""


def search(con: duckdb.DuckDBPyConnection, query: str, *, limit: int = 25, vocabulary: str | None = None,
           domain: str | None = None, standard_only: bool = False) -> list[Concept]:
    """The concepts best matching ``query`` (a code or words), best first."""
    query = (query or "").strip()
    if not query:
        raise SearchError("the search is empty: type words of a concept name or a code")
    if len(query) > MAX_QUERY_CHARS:
        raise SearchError(f"the search is {len(query)} characters long; at most {MAX_QUERY_CHARS}")
    limit = max(1, min(int(limit), MAX_LIMIT))
    vocab = vocabulary_id(vocabulary) if vocabulary else None
    found: list[Concept] = []
    code = parse_code(query)
    if code is not None:
        found = [c for c in by_code(con, code[1], code[0] or vocab)
                 if (domain is None or c.domain_id.lower() == domain.lower())
                 and (not standard_only or c.standard_concept == "S")]
        if ":" in query and code[0] is not None:
            return found[:limit]
    words = tokens(query)[:MAX_QUERY_WORDS]
    if not words:
        return found[:limit]
    schema = index_schema(con)
    params = {"words": words, "n": len(words), "phrase": " ".join(words) if len(words) > 1 else words[0],
              "vocab": vocab, "domain": domain, "standard": standard_only, "limit": limit}
    rows = con.execute(_text_sql(schema, require_all=True), params).fetchall()
    if not rows and len(words) > 1:
        rows = con.execute(_text_sql(schema, require_all=False), params).fetchall()
    seen = {c.concept_id for c in found}
    found += [c for c in concepts_from_rows(rows, with_score=True) if c.concept_id not in seen]
    return found[:limit]


@dataclass(frozen=True)
class ConceptDetail:
    concept: Concept
    parents: list[Concept] = field(default_factory=list)
    children: list[Concept] = field(default_factory=list)
    descendant_count: int = 0
    #: Source codes (ICD-10, dm+d, ...) that map to this concept.
    mapped_from: list[Concept] = field(default_factory=list)
    #: The standard concepts this one maps to (for a source code).
    maps_to: list[Concept] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"concept": self.concept.to_dict(), "parents": [c.to_dict() for c in self.parents],
                "children": [c.to_dict() for c in self.children], "descendant_count": self.descendant_count,
                "mapped_from": [c.to_dict() for c in self.mapped_from],
                "maps_to": [c.to_dict() for c in self.maps_to]}


class ConceptNotFound(LookupError):
    """No concept with this id in the store's vocabulary."""


def get_concept(con: duckdb.DuckDBPyConnection, concept_id: int) -> Concept:
    rows = con.execute(f"SELECT {CONCEPT_SELECT} FROM main.concept c WHERE c.concept_id = ?", [concept_id]).fetchall()
    if not rows:
        raise ConceptNotFound(f"the vocabulary has no concept {concept_id}")
    return concepts_from_rows(rows)[0]


def concept_detail(con: duckdb.DuckDBPyConnection, concept_id: int, *, limit: int = 500) -> ConceptDetail:
    """A concept with its hierarchy (parents, children, descendant count) and mapped codes."""
    concept = get_concept(con, concept_id)

    def related(sql: str) -> list[Concept]:
        return concepts_from_rows(con.execute(
            f"SELECT {CONCEPT_SELECT} FROM main.concept c WHERE c.concept_id IN ({sql}) "
            "ORDER BY c.concept_name, c.concept_id LIMIT $limit", {"id": concept_id, "limit": limit}).fetchall())

    return ConceptDetail(
        concept=concept,
        parents=related("SELECT ancestor_concept_id FROM main.concept_ancestor WHERE descendant_concept_id = $id "
                        "AND min_levels_of_separation = 1 AND ancestor_concept_id <> $id"),
        children=related("SELECT descendant_concept_id FROM main.concept_ancestor WHERE ancestor_concept_id = $id "
                         "AND min_levels_of_separation = 1 AND descendant_concept_id <> $id"),
        descendant_count=con.execute(
            "SELECT count(DISTINCT descendant_concept_id) FROM main.concept_ancestor "
            "WHERE ancestor_concept_id = ? AND descendant_concept_id <> ?", [concept_id, concept_id]).fetchone()[0],
        mapped_from=related("SELECT concept_id_1 FROM main.concept_relationship WHERE concept_id_2 = $id "
                            "AND relationship_id = 'Maps to' AND concept_id_1 <> $id"),
        maps_to=related("SELECT concept_id_2 FROM main.concept_relationship WHERE concept_id_1 = $id "
                        "AND relationship_id = 'Maps to' AND concept_id_2 <> $id"),
    )
