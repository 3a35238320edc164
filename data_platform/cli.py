"""What the spark-submit jobs share: their common arguments, the one-line error convention, and ``run_job``, the
life of every job: configuration read and validated before Spark starts, a session, the run, the result printed."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any, Callable, TypeVar

if TYPE_CHECKING:
    from pyspark.sql import SparkSession
    from rich.console import Console

Config = TypeVar("Config")
Result = TypeVar("Result")


def job_parser(prog: str, doc: str, default_input: str, default_output: str) -> argparse.ArgumentParser:
    """A parser with --input, --output, --master, --format and --source."""
    from data_platform.io.spark_io import FORMATS

    p = argparse.ArgumentParser(prog=prog, description=doc.splitlines()[0])
    p.add_argument("--input", nargs="+", default=[default_input],
                   help=f"files, folders or globs (local, hdfs://, s3a:// ...); default: {default_input}")
    p.add_argument("--output", default=default_output, help="output folder")
    p.add_argument("--master", default=None, help="Spark master, e.g. local[4] or spark://host:7077")
    p.add_argument("--format", default="auto", choices=["auto", *FORMATS],
                   help="input format (default: from extensions)")
    p.add_argument("--source", default=None, help="source label for records that carry none")
    return p


def add_alarm_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--on-alarm", choices=["stop", "warn"], default=None,
                   help="what a removal-rate alarm does (default: the rule file's on_alarm)")


def error(message: object) -> int:
    """Print ``error: message`` on stderr and return the exit code for a user error."""
    print(f"error: {message}", file=sys.stderr)
    return 2


def user_errors() -> tuple[type[Exception], ...]:
    """What every job reports as a user error: a bad configuration, a missing input or model file, an output
    that already holds a completed run, a stage that removed more than its alarm allows."""
    from data_platform.alarms import RemovalAlarm
    from data_platform.io.job_output import OutputExistsError
    from data_platform.io.spark_io import InputError
    from data_platform.yaml_lines import ConfigError

    return ConfigError, InputError, OutputExistsError, FileNotFoundError, RemovalAlarm


def run_job(app: str | Callable[[Config], str], args: argparse.Namespace, load: Callable[[argparse.Namespace], Config],
            run: Callable[[SparkSession, argparse.Namespace, Config], Result],
            show: Callable[[argparse.Namespace, Result], int], errors: tuple[type[Exception], ...] = ()) -> int:
    """``load`` the configuration (before Spark starts, so a bad file costs no session), start a session (Spark's
    progress bar when stderr is a terminal), ``run``, stop the session, ``show`` the result (its exit code). A user
    error (``user_errors()`` and ``errors``) at any step is one ``error:`` line and exit code 2. ``app`` names the
    Spark application (or makes its name from the configuration)."""
    from data_platform.spark import build_session

    expected = (*user_errors(), *errors)
    try:
        config = load(args)
    except expected as err:
        return error(err)
    name = app if isinstance(app, str) else app(config)
    spark = build_session(name, args.master, progress=sys.stderr.isatty())
    try:
        result = run(spark, args, config)
    except expected as err:
        return error(err)
    finally:
        spark.stop()
    return show(args, result)


def console() -> Console:
    """A console at least 100 columns wide (the funnel tables)."""
    from rich.console import Console

    return Console(width=max(100, Console().width))


def accounting_exit(stats: dict[str, Any]) -> int:
    """0 when every input document left as kept or dropped, else 1."""
    return 0 if stats["accounting"]["ok"] else 1
