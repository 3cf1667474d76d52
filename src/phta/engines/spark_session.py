"""One SparkSession per process: local mode for tests and small nodes, a cluster URL in production.

Starting Spark costs seconds (a JVM, the SQL catalyst, a block manager), so the session is made
once per process and reused; each engine takes a light child session (``newSession()``) that
shares the JVM and executors but has its own temporary views and SQL settings, so two stores in
one process never see each other's tables.

Local mode is made for a shared 2-core machine and for privacy: the driver binds to the loopback
interface only, the web UI is off, shuffles use few partitions, and Spark's logging is cut to
errors so nothing record-level can reach a log through Spark's own messages.
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from phta.config import DEFAULT_SPARK_MASTER as DEFAULT_MASTER
from phta.engines.errors import EngineError

if TYPE_CHECKING:  # pyspark is an optional extra; import it only when a session is made
    from pyspark.sql import SparkSession

LOOPBACK = "127.0.0.1"

# Settings every PHTA session gets, local or cluster: they make Spark's SQL agree with DuckDB's.
COMMON_CONF: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    # TIMESTAMP means "without time zone", as in DuckDB and in OMOP's *_datetime columns; it also
    # stops PySpark shifting timestamps into the Python process's local zone on collect().
    "spark.sql.timestampType": "TIMESTAMP_NTZ",
    # ANSI mode: overflow, bad casts and division by zero raise errors, as they do in DuckDB.
    "spark.sql.ansi.enabled": "true",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.parquet.inferTimestampNTZ.enabled": "true",
}

# Extra settings for local mode only (a cluster's own spark-defaults.conf decides these there).
LOCAL_CONF: dict[str, str] = {
    "spark.driver.host": LOOPBACK,
    "spark.driver.bindAddress": LOOPBACK,
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "2",
    "spark.driver.memory": "1g",
    "spark.sql.adaptive.enabled": "true",
    "spark.sql.catalogImplementation": "in-memory",
    "spark.port.maxRetries": "32",
}

# Errors only, and none from the loggers that report a failed task: their messages quote the
# offending data value (security property 3). The engine raises the error's condition instead.
_LOG4J2 = """\
logger.executor.name = org.apache.spark.executor.Executor
logger.executor.level = off
logger.tasks.name = org.apache.spark.scheduler.TaskSetManager
logger.tasks.level = off
logger.tasks2.name = org.apache.spark.scheduler.TaskSchedulerImpl
logger.tasks2.level = off
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
"""


class SparkUnavailable(EngineError):
    """PySpark (the ``spark`` extra) or a Java runtime is missing, or the master cannot be reached."""


class SparkMasterConflict(EngineError):
    """The process already has a Spark session for a different master."""


_lock = threading.Lock()
_session: SparkSession | None = None
_session_master: str | None = None


def is_local(master: str) -> bool:
    return master == "local" or master.startswith("local[")


def session_conf(master: str) -> dict[str, str]:
    """The Spark settings PHTA uses for ``master`` (a pure function, so tests can read it)."""
    conf = dict(COMMON_CONF)
    if is_local(master):
        conf.update(LOCAL_CONF)
    return conf


def _log_config_file() -> Path:
    # Written at run time (not shipped as package data) so the JVM gets a plain file path.
    path = Path(tempfile.gettempdir()) / "phta-spark-log4j2.properties"
    if not path.exists() or path.read_text(encoding="utf-8") != _LOG4J2:
        path.write_text(_LOG4J2, encoding="utf-8")
    return path


def get_session(master: str | None = None) -> SparkSession:
    """The process's Spark session for ``master`` (default ``local[2]``), started on first use."""
    global _session, _session_master
    master = master or DEFAULT_MASTER
    with _lock:
        if _session is not None:
            if master != _session_master:
                raise SparkMasterConflict(
                    f"this process already runs Spark on {_session_master!r}; "
                    f"cannot also use {master!r} (one Spark master per process)"
                )
            return _session
        _session = _start(master)
        _session_master = master
        return _session


def _start(master: str) -> SparkSession:
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise SparkUnavailable(
            "PySpark is not installed; install PHTA with the spark extra: pip install -e '.[spark]'"
        ) from exc
    if is_local(master):
        # Read by the JVM's address lookup before any configuration: without it Spark picks the
        # first non-loopback interface and warns about it.
        os.environ.setdefault("SPARK_LOCAL_IP", LOOPBACK)
    builder = SparkSession.builder.master(master).appName("phta")
    for key, value in session_conf(master).items():
        builder = builder.config(key, value)
    log_option = f"-Dlog4j2.configurationFile=file:{_log_config_file()}"
    builder = builder.config("spark.driver.extraJavaOptions", log_option)
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # the JVM failed to start: no Java, bad master URL, ...
        raise SparkUnavailable(
            f"could not start Spark on {master!r}: {type(exc).__name__}"
        ) from exc
    session.sparkContext.setLogLevel("ERROR")
    _silence_python_error_logs()
    return session


def _silence_python_error_logs() -> None:
    """PySpark logs every SQL error's full message from Python, and a runtime error's message
    can quote a data value (a failed cast names it). The engine re-raises errors without that
    text; these loggers would print it to stderr anyway, so they are switched off."""
    from pyspark.logger import PySparkLogger

    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        PySparkLogger.getLogger(name).disabled = True


def stop_session() -> None:
    """Stop the process's session (tests and shutdown); the next ``get_session`` starts anew."""
    global _session, _session_master
    with _lock:
        if _session is not None:
            _session.stop()
        _session = None
        _session_master = None
