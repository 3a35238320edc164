"""Main-text extraction from HTML with trafilatura (no navigation, ads or footers), bounded in size and time."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection

from data_platform.config import ExtractConfig


@dataclass
class Extracted:
    text: str | None
    meta: dict[str, str]
    error: str | None = None


Work = Callable[[str, "str | None", ExtractConfig], Extracted]


class _Extractor:
    """A child process that extracts pages, so a time budget holds everywhere: a page that overruns it (even inside
    lxml's C code, where no signal handler runs; on Windows, where there is no SIGALRM; in any thread) is
    abandoned by killing the child, and a crash of the parser costs the page, not the Spark worker. The child
    is started on first use and again after a kill; pages and results cross a pipe."""

    def __init__(self, work: Work | None = None) -> None:
        self._work = work or _extract
        self._proc: multiprocessing.process.BaseProcess | None = None
        self._conn: Connection | None = None

    def __call__(self, page: tuple[str, str | None, ExtractConfig], timeout_s: float) -> Extracted:
        conn = self._connection()
        try:
            conn.send(page)
            if conn.poll(timeout_s):
                result: Extracted = conn.recv()
                return result
            error = f"extraction took longer than {timeout_s:g}s"
        except (EOFError, OSError) as err:  # the child died on this page (a parser crash)
            error = f"the extraction process died on this page ({type(err).__name__})"
        self.stop()
        return Extracted(None, {}, error)

    def _connection(self) -> Connection:
        if self._proc is None or not self._proc.is_alive() or self._conn is None:
            self.stop()
            ctx = multiprocessing.get_context("spawn")  # no fork: the parent may run threads (Arrow, Spark)
            self._conn, child = ctx.Pipe()
            self._proc = ctx.Process(target=_serve, args=(child, self._work), daemon=True, name="dp-extract")
            self._proc.start()
            child.close()
        return self._conn

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.join()
        if self._conn is not None:
            self._conn.close()
        self._proc, self._conn = None, None


def _serve(conn: Connection, work: Work) -> None:
    """The child's loop: a page in, its extraction out, until the parent closes the pipe."""
    while True:
        try:
            html, url, cfg = conn.recv()
        except EOFError:
            return
        conn.send(work(html, url, cfg))


def extract_html(html: str, url: str | None, cfg: ExtractConfig, timeout_s: float) -> Extracted:
    """Extract the main text and title/date/author of one page within ``timeout_s`` seconds (in the extraction
    process); failures are returned, never raised."""
    return _EXTRACTOR((html, url, cfg), timeout_s)


def _extract(html: str, url: str | None, cfg: ExtractConfig) -> Extracted:
    import trafilatura

    try:
        doc = trafilatura.bare_extraction(
            html,
            url=url,
            with_metadata=True,
            include_tables=cfg.include_tables,
            include_comments=cfg.include_comments,
            favor_precision=cfg.favor_precision,
        )
    except Exception as err:  # trafilatura/lxml raise many types on broken markup
        return Extracted(None, {}, f"{type(err).__name__}: {err}"[:300])
    text = getattr(doc, "text", None) if doc is not None else None
    if not text or not any(ch.isalnum() for ch in text):
        return Extracted(None, {}, "no main text found in the HTML")
    meta = {k: str(v) for k in ("title", "date", "author", "sitename") if (v := getattr(doc, k, None))}
    return Extracted(text, meta)


_EXTRACTOR = _Extractor()  # one child per process that extracts (each Spark Python worker)
