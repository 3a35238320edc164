"""What the spark-submit jobs share: their common arguments and the one-line error convention."""

from __future__ import annotations

import argparse
import sys



def job_parser(prog: str, doc: str, default_input: str, default_output: str) -> argparse.ArgumentParser:
    """A parser with --input, --output, --master, --format and --source."""
    from data_platform.io.spark_io import FORMATS

    p = argparse.ArgumentParser(prog=prog, description=doc.splitlines()[0])
    p.add_argument("--input", nargs="+", default=[default_input],
                   help=f"files, folders or globs (local, hdfs://, s3a:// ...); default: {default_input}")
    p.add_argument("--output", default=default_output, help="output folder")
    p.add_argument("--master", default=None, help="Spark master, e.g. local[4] or spark://host:7077")
    p.add_argument("--format", default="auto", choices=["auto", *FORMATS], help="input format (default: from extensions)")
    p.add_argument("--source", default=None, help="source label for records that carry none")
    return p


def error(message: object) -> int:
    """Print ``error: message`` on stderr and return the exit code for a user error."""
    print(f"error: {message}", file=sys.stderr)
    return 2
