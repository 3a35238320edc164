"""Main-text extraction from HTML with trafilatura (no navigation, ads or footers), bounded in size and time."""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

from data_platform.config import ExtractConfig


@dataclass
class Extracted:
    text: str | None
    meta: dict[str, str]
    error: str | None = None


class ExtractTimeout(Exception):
    pass


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """SIGALRM-based budget; only possible in the main thread (Spark's Python workers run UDFs there)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum, frame):
        raise ExtractTimeout

    previous = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def extract_html(html: str, url: str | None, cfg: ExtractConfig, timeout_s: float) -> Extracted:
    """Extract the main text and title/date/author of one page; failures are returned, never raised."""
    import trafilatura

    try:
        with _time_limit(timeout_s):
            doc = trafilatura.bare_extraction(
                html,
                url=url,
                with_metadata=True,
                include_tables=cfg.include_tables,
                include_comments=cfg.include_comments,
                favor_precision=cfg.favor_precision,
            )
    except ExtractTimeout:
        return Extracted(None, {}, f"extraction took longer than {timeout_s:g}s")
    except Exception as err:  # trafilatura/lxml raise many types on broken markup
        return Extracted(None, {}, f"{type(err).__name__}: {err}"[:300])
    text = getattr(doc, "text", None) if doc is not None else None
    if not text or not any(ch.isalnum() for ch in text):
        return Extracted(None, {}, "no main text found in the HTML")
    meta = {k: str(v) for k in ("title", "date", "author", "sitename") if (v := getattr(doc, k, None))}
    return Extracted(text, meta)
