"""The Spark engine gives DuckDB's answers, value for value and type for type.

A small OMOP store is made with ``Store.create``, filled by SQL, and exported to Parquet in the
layout of ``phta store export-parquet`` (one ``<table>.parquet`` per non-empty table). Each query
is one SQLGlot tree: rendered for DuckDB it runs on the store; rendered for Spark it runs through
``SparkEngine`` on the Parquet export. The rows must be identical.

The known differences between the two dialects (docs/spark.md) are pinned at the end, so a
SQLGlot or Spark upgrade that changes one of them shows up here.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlglot
from sqlglot import exp

from phta.cdm import schema
from phta.cdm.extensions import ensure_extension_tables
from phta.cdm.store import Store
from phta.engines.params import bind
from phta.engines.spark import SparkEngine, SparkQueryError
from phta.engines.spark_decorrelate import has_deep_correlation
from phta.engines.spark_views import ParquetExportError

pytestmark = pytest.mark.java

T2DM, HYPERTENSION, ASTHMA = 201826, 320128, 317009
METFORMIN, SALBUTAMOL = 1503297, 1154343
HBA1C = 3004410
AWKWARD_SOURCE_VALUE = "o'k\\' OR 1=1 --"

# Deterministic synthetic rows: every value is a function of the row number, so both engines
# read exactly the same data and failures reproduce.
FILL_STORE = [
    f"""INSERT INTO person (person_id, gender_concept_id, year_of_birth, month_of_birth,
            birth_datetime, race_concept_id, ethnicity_concept_id, person_source_value)
        SELECT i, CASE WHEN i % 2 = 0 THEN 8507 ELSE 8532 END, 1930 + (i * 7) % 70,
               CASE WHEN i % 5 = 0 THEN NULL ELSE 1 + i % 12 END,
               CASE WHEN i % 3 = 0 THEN TIMESTAMP '1930-01-01 06:30:00' + INTERVAL (i * 101) DAY END,
               0, 0, CASE WHEN i = 7 THEN '{AWKWARD_SOURCE_VALUE.replace("'", "''")}' ELSE 'P' || i END
        FROM (SELECT CAST(range AS INTEGER) AS i FROM range(1, 301))""",
    """INSERT INTO observation_period
        SELECT i, i, DATE '2010-01-01' + (i % 400), DATE '2022-12-31' - (i % 300), 32817
        FROM (SELECT CAST(range AS INTEGER) AS i FROM range(1, 301))""",
    f"""INSERT INTO condition_occurrence (condition_occurrence_id, person_id, condition_concept_id,
            condition_start_date, condition_start_datetime, condition_type_concept_id)
        SELECT i, 1 + (i * 13) % 300,
               CASE i % 4 WHEN 0 THEN {T2DM} WHEN 1 THEN {HYPERTENSION} WHEN 2 THEN {ASTHMA} ELSE 4329847 END,
               DATE '2011-01-01' + ((i * 37) % 4000),
               TIMESTAMP '2011-01-01 00:00:00' + INTERVAL ((i * 37) % 4000) DAY + INTERVAL (i % 24) HOUR,
               32020
        FROM (SELECT CAST(range AS INTEGER) AS i FROM range(1, 1201))""",
    f"""INSERT INTO drug_exposure (drug_exposure_id, person_id, drug_concept_id,
            drug_exposure_start_date, drug_exposure_end_date, days_supply, drug_type_concept_id)
        SELECT i, 1 + (i * 17) % 300, CASE WHEN i % 3 = 0 THEN {SALBUTAMOL} ELSE {METFORMIN} END,
               DATE '2011-06-01' + ((i * 53) % 3800), DATE '2011-06-01' + ((i * 53) % 3800) + 28 + i % 60,
               CASE WHEN i % 7 = 0 THEN NULL ELSE 28 + i % 60 END, 38000177
        FROM (SELECT CAST(range AS INTEGER) AS i FROM range(1, 601))""",
    f"""INSERT INTO measurement (measurement_id, person_id, measurement_concept_id, measurement_date,
            measurement_type_concept_id, value_as_number, unit_source_value)
        SELECT i, 1 + (i * 29) % 300, {HBA1C}, DATE '2012-01-01' + ((i * 41) % 3500), 44818702,
               CASE WHEN i % 11 = 0 THEN NULL ELSE 30 + ((i * 7919) % 700) / 10.0 END, 'mmol/mol'
        FROM (SELECT CAST(range AS INTEGER) AS i FROM range(1, 901))""",
    """INSERT INTO variant
        SELECT 1 + (i * 31) % 300, '17', 43044295 + i, 'G', 'A', CASE WHEN i % 2 = 0 THEN 'BRCA1' ELSE 'BRCA2' END,
               NULL, CASE WHEN i % 5 = 0 THEN 'homozygous' ELSE 'heterozygous' END,
               CASE WHEN i % 3 = 0 THEN 'Pathogenic' WHEN i % 3 = 1 THEN 'Benign' END
        FROM (SELECT CAST(range AS INTEGER) AS i FROM range(1, 41))""",
]


def export_parquet(store: Store) -> Path:
    """What ``phta store export-parquet`` writes: STORE/parquet/<table>.parquet per non-empty
    OMOP or extension table."""
    store.parquet_dir.mkdir(exist_ok=True)
    with store.connect(read_only=True) as con:
        present = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        for name in [*schema.tables(schema.CURRENT_VERSION), "variant"]:
            if name not in present:
                continue
            (count,) = con.execute(f"SELECT count(*) FROM {name}").fetchone()
            if count:
                con.execute(f"COPY {name} TO '{store.parquet_dir / name}.parquet' (FORMAT parquet)")
    return store.parquet_dir


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = Store.create(tmp_path_factory.mktemp("spark") / "store", node_name="spark-test")
    with store.connect() as con:
        ensure_extension_tables(con)
        for statement in FILL_STORE:
            con.execute(statement)
    export_parquet(store)
    return store


@pytest.fixture(scope="module")
def spark(store: Store, spark_master: str) -> SparkEngine:
    return SparkEngine(str(store.parquet_dir), master=spark_master)


@pytest.fixture(scope="module")
def duck(store: Store):
    with store.connect(read_only=True) as con:
        yield con


def run_duckdb(con: duckdb.DuckDBPyConnection, tree: exp.Expression, params=None) -> list[tuple]:
    bound = bind(tree, params)
    return con.execute(bound.tree.sql(dialect="duckdb"), bound.values).fetchall()


def assert_same_rows(expected: list[tuple], actual: list[tuple]) -> None:
    """Equal values of equal Python types; floats to 12 significant digits (the engines sum in
    different orders, so the last bits of a float aggregate may differ)."""
    assert len(actual) == len(expected), f"{len(actual)} rows on Spark, {len(expected)} on DuckDB"
    for number, (want, got) in enumerate(zip(expected, actual, strict=True)):
        assert len(got) == len(want), (
            f"row {number}: {len(got)} columns on Spark, {len(want)} on DuckDB"
        )
        for column, (w, g) in enumerate(zip(want, got, strict=True)):
            where = f"row {number} column {column}"
            assert type(g) is type(w), (
                f"{where}: Spark gives {type(g).__name__}, DuckDB {type(w).__name__}"
            )
            if isinstance(w, float):
                assert math.isclose(g, w, rel_tol=1e-12), f"{where}: {g} != {w}"
            else:
                assert g == w, f"{where}: {g!r} != {w!r}"


def same_on_both(
    duck, spark: SparkEngine, tree: exp.Expression, params: Mapping[str, Any] | None = None
):
    expected = run_duckdb(duck, tree, params)
    actual = spark.execute(tree, params)
    assert expected, "the query should return rows, or the comparison proves little"
    assert_same_rows(expected, actual)
    return actual


def col(name: str, table: str | None = None) -> exp.Column:
    return exp.column(name, table=table)


def ordered(expression: exp.Expression, desc: bool = False) -> exp.Ordered:
    # NULLs last in both directions, said explicitly: DuckDB and Spark default differently.
    return exp.Ordered(this=expression, desc=desc, nulls_first=False)


def add_days(date: exp.Expression, days: exp.Expression) -> exp.Expression:
    """The portable date + n days: DuckDB renders DATE_ADD as date + INTERVAL (a TIMESTAMP)."""
    return exp.cast(exp.DateAdd(this=date, expression=days, unit=exp.var("DAY")), "DATE")


# --- queries a cohort compiler produces -------------------------------------------------------


def test_join_with_concept_ids_bound_as_an_in_list(duck, spark):
    tree = (
        exp.select(
            col("gender_concept_id", "p"),
            exp.Count(this=exp.Distinct(expressions=[col("person_id", "p")])),
        )
        .from_(exp.to_table("person").as_("p"))
        .join(
            exp.to_table("condition_occurrence").as_("c"),
            on=exp.column("person_id", "p").eq(col("person_id", "c")),
        )
        .where(col("condition_concept_id", "c").isin(exp.Placeholder(this="concepts")))
        .group_by(col("gender_concept_id", "p"))
        .order_by(ordered(col("gender_concept_id", "p")))
    )
    rows = same_on_both(duck, spark, tree, {"concepts": [T2DM, HYPERTENSION]})
    assert all(isinstance(count, int) for _, count in rows)


def test_first_occurrence_per_person_by_row_number(duck, spark):
    numbered = (
        exp.select(
            col("person_id"),
            col("condition_start_date"),
            exp.alias_(
                exp.Window(
                    this=exp.RowNumber(),
                    partition_by=[col("person_id")],
                    order=exp.Order(
                        expressions=[
                            ordered(col("condition_start_date")),
                            ordered(col("condition_occurrence_id")),
                        ]
                    ),
                ),
                "rn",
            ),
        )
        .from_("condition_occurrence")
        .where(col("condition_concept_id").eq(exp.Placeholder(this="concept")))
    )
    tree = (
        exp.select(col("person_id"), col("condition_start_date"))
        .from_(numbered.subquery("firsts"))
        .where(col("rn").eq(exp.Literal.number(1)))
        .order_by(ordered(col("person_id")))
    )
    rows = same_on_both(duck, spark, tree, {"concept": T2DM})
    assert isinstance(rows[0][1], dt.date) and not isinstance(rows[0][1], dt.datetime)


def test_date_arithmetic_drug_within_180_days_after_diagnosis(duck, spark):
    c, d = "c", "d"
    tree = (
        exp.select(
            col("person_id", c),
            col("condition_start_date", c),
            col("drug_exposure_start_date", d),
            exp.alias_(
                exp.DateDiff(
                    this=col("drug_exposure_start_date", d),
                    expression=col("condition_start_date", c),
                    unit=exp.var("DAY"),
                ),
                "days",
            ),
            exp.alias_(
                add_days(col("condition_start_date", c), exp.Placeholder(this="window")),
                "window_end",
            ),
        )
        .from_(exp.to_table("condition_occurrence").as_(c))
        .join(exp.to_table("drug_exposure").as_(d), on=col("person_id", c).eq(col("person_id", d)))
        .where(col("condition_concept_id", c).eq(exp.Placeholder(this="condition")))
        .where(col("drug_concept_id", d).isin(exp.Placeholder(this="drugs")))
        .where(
            col("drug_exposure_start_date", d).between(
                col("condition_start_date", c),
                add_days(col("condition_start_date", c), exp.Placeholder(this="window")),
            )
        )
        .order_by(
            *[
                ordered(col(n))
                for n in ("person_id", "condition_start_date", "drug_exposure_start_date")
            ]
        )
    )
    rows = same_on_both(duck, spark, tree, {"condition": T2DM, "drugs": [METFORMIN], "window": 180})
    assert all(0 <= days <= 180 and type(end) is dt.date for *_, days, end in rows)


def test_events_inside_observation_with_age_and_a_date_parameter(duck, spark):
    age = exp.Sub(
        this=exp.Year(this=col("condition_start_date", "c")), expression=col("year_of_birth", "p")
    )
    tree = (
        exp.select(exp.alias_(age, "age"), exp.alias_(exp.Count(this=exp.Star()), "n"))
        .from_(exp.to_table("condition_occurrence").as_("c"))
        .join(exp.to_table("person").as_("p"), on=col("person_id", "c").eq(col("person_id", "p")))
        .join(
            exp.to_table("observation_period").as_("o"),
            on=col("person_id", "c").eq(col("person_id", "o")),
        )
        .where(
            col("condition_start_date", "c").between(
                col("observation_period_start_date", "o"), col("observation_period_end_date", "o")
            )
        )
        .where(col("condition_start_date", "c") >= exp.Placeholder(this="since"))
        .where(col("condition_start_datetime", "c") < exp.Placeholder(this="before"))
        .group_by(age)
        .having(exp.Count(this=exp.Star()) > exp.Literal.number(2))
        .order_by(ordered(exp.column("age")))
    )
    same_on_both(
        duck, spark, tree, {"since": dt.date(2013, 1, 1), "before": dt.datetime(2020, 6, 30, 12)}
    )


def test_measurement_aggregates_with_nulls(duck, spark):
    value = col("value_as_number")
    tree = (
        exp.select(
            exp.Count(this=exp.Star()),
            exp.Count(this=value),
            exp.Avg(this=value),
            exp.Min(this=value),
            exp.Max(this=value),
            exp.Sum(this=col("measurement_id")),
            exp.Median(this=value),
            exp.StddevSamp(this=value),
        )
        .from_("measurement")
        .where(col("measurement_concept_id").eq(exp.Placeholder(this="hba1c")))
    )
    ((count, non_null, mean, *_),) = same_on_both(duck, spark, tree, {"hba1c": HBA1C})
    assert count > non_null > 0 and isinstance(mean, float)


def test_age_bands_with_integer_and_true_division_and_booleans(duck, spark):
    band = exp.Mul(
        this=exp.IntDiv(this=col("year_of_birth"), expression=exp.Literal.number(10)),
        expression=exp.Literal.number(10),
    )
    tree = (
        exp.select(
            exp.alias_(band, "decade"),
            exp.alias_(
                exp.Div(
                    this=exp.Count(this=exp.Star()),
                    expression=exp.Nullif(
                        this=exp.Literal.number(3), expression=exp.Literal.number(0)
                    ),
                ),
                "thirds",
            ),
            exp.alias_(
                exp.Max(this=col("year_of_birth") > exp.Literal.number(1960)), "any_after_1960"
            ),
            exp.alias_(exp.Max(this=col("month_of_birth").is_(exp.null())), "any_unknown_month"),
        )
        .from_("person")
        .where(exp.true())
        .group_by(band)
        .order_by(ordered(exp.column("decade")))
    )
    rows = same_on_both(duck, spark, tree)
    assert {type(r[2]) for r in rows} == {bool}


def test_extension_tables_are_views_too(duck, spark):
    tree = (
        exp.select(col("gene", "v"), col("gender_concept_id", "p"), exp.Count(this=exp.Star()))
        .from_(exp.to_table("variant").as_("v"))
        .join(exp.to_table("person").as_("p"), on=col("person_id", "v").eq(col("person_id", "p")))
        .where(col("clinical_significance", "v").isin(exp.Placeholder(this="significance")))
        .group_by(col("gene", "v"), col("gender_concept_id", "p"))
        .order_by(ordered(col("gene", "v")), ordered(col("gender_concept_id", "p")))
    )
    same_on_both(duck, spark, tree, {"significance": ["Pathogenic", "Likely pathogenic"]})


def test_a_subquery_correlated_two_levels_up_runs_and_agrees(duck, spark):
    # Conditions within 365 days after the person's first T2DM diagnosis: the inner MIN refers
    # to the person row two levels up, which Spark cannot resolve until it is decorrelated.
    first = (
        exp.select(exp.Min(this=col("condition_start_date", "e2")))
        .from_(exp.table_("condition_occurrence", alias="e2"))
        .where(col("person_id", "e2").eq(col("person_id", "p")))
        .where(col("condition_concept_id", "e2").eq(exp.Placeholder(this="first_concept")))
    )
    within = (
        exp.select(exp.Count(this=exp.Star()))
        .from_(exp.table_("condition_occurrence", alias="e1"))
        .where(col("person_id", "e1").eq(col("person_id", "p")))
        .where(
            col("condition_start_date", "e1").between(
                first.subquery(), add_days(first.subquery(), exp.Literal.number(365))
            )
        )
    )
    tree = (
        exp.select(col("person_id", "p"), exp.alias_(within.subquery(), "n"))
        .from_(exp.table_("person", alias="p"))
        .order_by(ordered(col("person_id", "p")))
    )
    assert has_deep_correlation(tree)
    # The person key is read from the middle query instead (spark_decorrelate.pull_correlation_in).
    assert "e2.person_id = e1.person_id" in spark.render(tree, {"first_concept": T2DM})[0]
    rows = same_on_both(duck, spark, tree, {"first_concept": T2DM})
    assert {n for _, n in rows} - {0}, "some persons should have conditions in the window"


def test_null_ordering_is_the_same_both_ways(duck, spark):
    for desc in (False, True):
        tree = (
            exp.select(col("month_of_birth"), col("person_id"))
            .from_("person")
            .order_by(ordered(col("month_of_birth"), desc=desc), ordered(col("person_id")))
        )
        rows = same_on_both(duck, spark, tree)
        assert rows[-1][0] is None


def test_an_empty_table_is_an_empty_view_and_outer_joins_keep_their_nulls(duck, spark):
    assert spark.sources["death"] == "empty"
    tree = (
        exp.select(
            exp.Count(this=exp.Star()),
            exp.Count(this=col("death_date", "d")),
            exp.Max(this=col("death_date", "d")),
        )
        .from_(exp.to_table("person").as_("p"))
        .join(
            exp.to_table("death").as_("d"),
            on=col("person_id", "p").eq(col("person_id", "d")),
            join_type="left",
        )
    )
    assert same_on_both(duck, spark, tree) == [(300, 0, None)]


def test_timestamps_come_back_naive_and_unshifted(duck, spark):
    tree = (
        exp.select(col("person_id"), col("birth_datetime"), exp.cast(col("birth_datetime"), "DATE"))
        .from_("person")
        .where(col("birth_datetime").is_(exp.null()).not_())
        .order_by(ordered(col("person_id")))
        .limit(5)
    )
    rows = same_on_both(duck, spark, tree)
    assert rows[0][1] == dt.datetime(1930, 1, 1, 6, 30) + dt.timedelta(days=303)
    assert rows[0][1].tzinfo is None


def test_string_literals_with_quotes_and_backslashes_are_escaped_per_dialect(duck, spark):
    tree = (
        exp.select(col("person_id"))
        .from_("person")
        .where(col("person_source_value").eq(exp.convert(AWKWARD_SOURCE_VALUE)))
    )
    assert same_on_both(duck, spark, tree) == [(7,)]
    by_parameter = (
        exp.select(col("person_id"))
        .from_("person")
        .where(col("person_source_value").eq(exp.Placeholder(this="v")))
    )
    assert spark.execute(by_parameter, {"v": AWKWARD_SOURCE_VALUE}) == [(7,)]


def test_every_scalar_parameter_type_round_trips(duck, spark):
    values = {
        "i": 7,
        "big": 2**40,
        "f": 2.5,
        "d": Decimal("1.25"),
        "s": "x",
        "b": False,
        "day": dt.date(2020, 2, 29),
        "ts": dt.datetime(2020, 2, 29, 23, 59, 59, 123456),
    }
    tree = exp.select(*[exp.Placeholder(this=name) for name in values])
    assert same_on_both(duck, spark, tree, values) == [tuple(values.values())]


# --- the engine itself ------------------------------------------------------------------------


SPARK_FOR_DUCKDB = {
    "BIGINT": "bigint",
    "DOUBLE": "double",
    "DATE": "date",
    "TIMESTAMP": "timestamp_ntz",
    "VARCHAR": "string",
}


def test_every_omop_table_is_a_view_typed_like_the_duckdb_store(duck, spark):
    assert set(spark.sources) == {*schema.tables(schema.CURRENT_VERSION), "variant"}
    assert spark.sources["person"].endswith("person.parquet") and spark.sources["death"] == "empty"
    for name in ("person", "death", "measurement", "drug_exposure", "visit_occurrence", "variant"):
        assert spark.execute(exp.select(exp.Star()).from_(name).limit(0)) == []
        description = duck.execute(f"SELECT * FROM {name} LIMIT 0").description
        duck_columns = [(column, SPARK_FOR_DUCKDB[str(kind)]) for column, kind, *_ in description]
        spark_columns = [
            (f.name, f.dataType.simpleString()) for f in spark.session.table(name).schema.fields
        ]
        assert spark_columns == duck_columns, name


def test_stores_in_one_process_share_spark_but_not_views(tmp_path: Path, spark, spark_master):
    other = Store.create(tmp_path / "other")
    with other.connect() as con:
        con.execute(
            "INSERT INTO person (person_id, gender_concept_id, year_of_birth, race_concept_id, ethnicity_concept_id) VALUES (1, 8507, 2000, 0, 0)"
        )
    export_parquet(other)
    second = SparkEngine.for_store(other, master=spark_master)
    count = exp.select(exp.Count(this=exp.Star())).from_("person")
    assert second.execute(count) == [(1,)]
    assert second.sources["variant"] == "empty"
    assert second.execute(exp.select(exp.Count(this=exp.Star())).from_("variant")) == [(0,)]
    assert spark.execute(count) == [(300,)]
    assert second.session.sparkContext is spark.session.sparkContext


def test_a_missing_export_and_a_stray_file_are_refused(tmp_path: Path, spark_master):
    with pytest.raises(ParquetExportError, match="no Parquet export"):
        SparkEngine(str(tmp_path / "nowhere"), master=spark_master)
    stray = tmp_path / "parquet"
    stray.mkdir()
    for bad in ("Patients", "phta_quarantine"):
        path = stray / f"{bad}.parquet"
        duckdb.sql(f"COPY (SELECT 1 AS x) TO '{path}' (FORMAT parquet)")
        with pytest.raises(ParquetExportError, match=f"'{bad}' cannot be a table of the store"):
            SparkEngine(str(stray), master=spark_master)
        path.unlink()


def test_a_failed_query_names_the_error_but_never_a_data_value(spark):
    bad_cast = exp.select(exp.Sum(this=exp.cast(col("person_source_value"), "INT"))).from_("person")
    with pytest.raises(SparkQueryError) as raised:
        spark.execute(bad_cast)
    assert raised.value.condition == "CAST_INVALID_INPUT"
    assert "P1" not in str(raised.value) and "OR 1=1" not in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_an_unknown_column_is_reported_at_compile_time(spark):
    with pytest.raises(SparkQueryError, match="no_such_column") as raised:
        spark.execute(exp.select(col("no_such_column")).from_("person"))
    assert raised.value.condition.startswith("UNRESOLVED_COLUMN")


# --- known dialect differences (docs/spark.md) -------------------------------------------------


def _pair(duck, spark, sql: str) -> tuple[list[tuple], list[tuple]]:
    tree = sqlglot.parse_one(sql, read="duckdb")
    return run_duckdb(duck, tree), spark.execute(tree)


@pytest.mark.parametrize(
    ("sql", "on_duckdb", "on_spark"),
    [
        # DATE_ADD: DuckDB renders date + INTERVAL, a TIMESTAMP; Spark's DATE_ADD is a DATE.
        ("SELECT DATE_ADD(DATE '2020-01-31', 30)", dt.datetime(2020, 3, 1), dt.date(2020, 3, 1)),
        # + INTERVAL n MONTH: a TIMESTAMP on DuckDB, a DATE on Spark; month ends clamp alike.
        (
            "SELECT DATE '2020-01-31' + INTERVAL 1 MONTH",
            dt.datetime(2020, 2, 29),
            dt.date(2020, 2, 29),
        ),
        # DATE_DIFF in years/months: DuckDB counts boundaries crossed, Spark whole units elapsed.
        ("SELECT DATE_DIFF('year', DATE '2000-06-15', DATE '2020-06-14')", 20, 19),
        ("SELECT DATE_DIFF('month', DATE '2020-01-31', DATE '2020-02-01')", 1, 0),
        # date - date: DuckDB gives days as an integer, Spark an interval.
        ("SELECT DATE '2020-03-01' - DATE '2020-01-01'", 60, dt.timedelta(days=60)),
        # Casting a decimal to an integer: DuckDB rounds, Spark truncates.
        ("SELECT CAST(2.7 AS INTEGER)", 3, 2),
        # DATE_TRUNC on a DATE: DuckDB returns a TIMESTAMP, Spark (TRUNC) a DATE.
        (
            "SELECT DATE_TRUNC('month', DATE '2020-05-17')",
            dt.datetime(2020, 5, 1),
            dt.date(2020, 5, 1),
        ),
        # Day of week: DuckDB counts Sunday as 0, Spark as 1.
        ("SELECT DAYOFWEEK(DATE '2020-05-17')", 0, 1),
    ],
)
def test_known_differences_are_as_documented(duck, spark, sql, on_duckdb, on_spark):
    assert _pair(duck, spark, sql) == ([(on_duckdb,)], [(on_spark,)])


def test_whole_years_between_disagree_for_a_29_february_birthday(duck, spark):
    # DuckDB's DATESUB('year') (SQLGlot does not translate it) and Spark's DATEDIFF(YEAR) both
    # count completed years, but differ on 28 February for a 29 February birthday: use age_at.
    on_duckdb = sqlglot.parse_one(
        "SELECT DATESUB('year', DATE '2000-02-29', DATE '2001-02-28')", read="duckdb"
    )
    on_spark = sqlglot.parse_one(
        "SELECT DATEDIFF(YEAR, DATE '2000-02-29', DATE '2001-02-28')", read="spark"
    )
    assert run_duckdb(duck, on_duckdb) == [(1,)]
    assert spark.execute(on_spark) == [(0,)]


def test_division_by_zero_is_inf_on_duckdb_and_an_error_on_spark(duck, spark):
    tree = sqlglot.parse_one("SELECT 1 / 0", read="duckdb")
    assert run_duckdb(duck, tree) == [(math.inf,)]
    with pytest.raises(SparkQueryError) as raised:
        spark.execute(tree)
    assert raised.value.condition == "DIVIDE_BY_ZERO"


# --- the Spark entries proposed for phta.query.dialects (docs/spark.md) ------------------------
# Each pair below is (DuckDB hook, proposed Spark hook); the trees differ, the answers must not.


def duckdb_add_days(date: exp.Expression, days: exp.Expression) -> exp.Expression:
    return exp.Add(this=exp.paren(date, copy=False), expression=exp.cast(days, "INTEGER"))


def spark_add_days(date: exp.Expression, days: exp.Expression) -> exp.Expression:
    # DATE_ADD(date, INT) is a DATE in Spark; its second argument must be INT, not BIGINT.
    return exp.DateAdd(this=date, expression=exp.cast(days, "INT"), unit=exp.var("DAY"))


def days_between(start: exp.Expression, end: exp.Expression) -> exp.Expression:
    # The same tree serves both: DATE_DIFF('DAY', ...) / DATEDIFF(DAY, ...), both BIGINT.
    return exp.DateDiff(this=end, expression=start, unit=exp.var("DAY"))


def make_date(y: exp.Expression, m: exp.Expression, d: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this="make_date", expressions=[y, m, d])


def age_at(birth: exp.Expression, date: exp.Expression) -> exp.Expression:
    """Completed years, birthday counted on the day, from date parts only: the engines' own
    year differences disagree (DuckDB DATE_DIFF counts boundaries; DATESUB and Spark's DATEDIFF
    differ for 29 February birthdays)."""
    before_birthday = exp.or_(
        exp.Month(this=date.copy()) < exp.Month(this=birth.copy()),
        exp.and_(
            exp.Month(this=date.copy()).eq(exp.Month(this=birth.copy())),
            exp.Day(this=date.copy()) < exp.Day(this=birth.copy()),
        ),
    )
    years = exp.Sub(this=exp.Year(this=date.copy()), expression=exp.Year(this=birth.copy()))
    return exp.Sub(
        this=years,
        expression=exp.Case(
            ifs=[exp.If(this=before_birthday, true=exp.Literal.number(1))],
            default=exp.Literal.number(0),
        ),
    )


def both_hooks(duck, spark, duck_tree: exp.Expression, spark_tree: exp.Expression, params=None):
    expected = run_duckdb(duck, duck_tree, params)
    assert expected
    assert_same_rows(expected, spark.execute(spark_tree, params))
    return expected


def test_proposed_add_days_and_days_between_hooks_agree(duck, spark):
    def tree(add_days_hook):
        start, supply = col("drug_exposure_start_date"), col("days_supply")
        return (
            exp.select(
                col("drug_exposure_id"),
                exp.alias_(add_days_hook(start.copy(), supply.copy()), "end_by_supply"),
                exp.alias_(
                    add_days_hook(start.copy(), exp.Neg(this=exp.Placeholder(this="back"))),
                    "lookback",
                ),
                exp.alias_(days_between(start.copy(), col("drug_exposure_end_date")), "length"),
                exp.alias_(days_between(col("drug_exposure_end_date"), start.copy()), "negative"),
            )
            .from_("drug_exposure")
            .order_by(ordered(col("drug_exposure_id")))
        )

    rows = both_hooks(duck, spark, tree(duckdb_add_days), tree(spark_add_days), {"back": 365})
    assert any(r[1] is None for r in rows) and all(type(r[2]) is dt.date for r in rows)


def test_proposed_make_date_and_age_agree_including_29_february(duck, spark):
    births = [
        dt.date(2000, 2, 29),
        dt.date(2000, 6, 15),
        dt.date(1999, 12, 31),
        dt.date(2000, 3, 1),
    ]
    ons = [
        dt.date(2001, 2, 28),
        dt.date(2001, 3, 1),
        dt.date(2004, 2, 28),
        dt.date(2004, 2, 29),
        dt.date(2020, 6, 14),
        dt.date(2020, 6, 15),
    ]
    grid = exp.values(
        [(exp.convert(b), exp.convert(o)) for b in births for o in ons],
        alias="grid",
        columns=["birth", "on_date"],
    )
    tree = (
        exp.select(
            col("birth"),
            col("on_date"),
            exp.alias_(age_at(col("birth"), col("on_date")), "age"),
            exp.alias_(
                make_date(
                    exp.Year(this=col("on_date")),
                    exp.Month(this=col("birth")),
                    exp.Literal.number(1),
                ),
                "month_start",
            ),
        )
        .from_(grid)
        .order_by(ordered(col("birth")), ordered(col("on_date")))
    )
    rows = both_hooks(duck, spark, tree, tree)
    ages = {(b, o): age for b, o, age, _ in rows}
    assert ages[(dt.date(2000, 2, 29), dt.date(2001, 2, 28))] == 0
    assert ages[(dt.date(2000, 2, 29), dt.date(2001, 3, 1))] == 1
    assert ages[(dt.date(2000, 6, 15), dt.date(2020, 6, 14))] == 19
    assert ages[(dt.date(2000, 6, 15), dt.date(2020, 6, 15))] == 20


def test_the_duckdb_add_days_hook_also_runs_on_spark(duck, spark):
    start = exp.cast(exp.convert("2020-01-31"), "DATE")
    tree = exp.select(
        duckdb_add_days(start, exp.Literal.number(30)),
        spark_add_days(start.copy(), exp.Literal.number(30)),
    )
    assert (
        spark.execute(tree)
        == run_duckdb(
            duck,
            exp.select(
                duckdb_add_days(start.copy(), exp.Literal.number(30)),
                duckdb_add_days(start.copy(), exp.Literal.number(30)),
            ),
        )
        == [(dt.date(2020, 3, 1),) * 2]
    )
