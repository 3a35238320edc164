"""Main-text extraction from HTML with trafilatura (no navigation, ads or footers), bounded in size and time."""

from __future__ import annotations

import atexit
import importlib
import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from data_platform.config import ExtractConfig


@dataclass
class Extracted:
    text: str | None
    meta: dict[str, str]
    error: str | None = None


_CHILD = "from data_platform.extract import serve_child; serve_child()"
_FRAME = struct.Struct("<Q")  # the byte length of the pickle that follows, on the pipes to and from the child


class _Extractor:
    """A child process that extracts pages, so a time budget holds everywhere: a page that overruns it (even inside
    lxml's C code, where no signal handler runs; on Windows, where there is no SIGALRM; in any thread) is
    abandoned by killing the child, and a crash of the parser costs the page, not the Spark worker.

    The child is ``python -c`` running :func:`serve_child`, started on first use and again after a kill; pages
    go to its stdin and results come back on its stdout as length-prefixed pickles (between this process and the
    child it started, nothing else). A plain subprocess rather than ``multiprocessing``: spawn would import the
    caller's ``__main__`` again, re-running any script without a main guard."""

    def __init__(self, work: str | None = None) -> None:
        self._work = [work] if work else []
        self._proc: subprocess.Popen[bytes] | None = None
        self._results: queue.Queue[Extracted | None] = queue.Queue()

    def __call__(self, page: tuple[str, str | None, ExtractConfig], timeout_s: float) -> Extracted:
        proc = self._child()
        try:
            _write_frame(proc.stdin, page)
            result = self._results.get(timeout=timeout_s)
            if result is not None:
                return result
            error = "the extraction process died on this page"
        except queue.Empty:
            error = f"extraction took longer than {timeout_s:g}s"
        except OSError as err:  # the child is gone (a parser crash on an earlier page)
            error = f"the extraction process died ({type(err).__name__})"
        self.stop()
        return Extracted(None, {}, error)

    def _child(self) -> subprocess.Popen[bytes]:
        if self._proc is None or self._proc.poll() is not None:
            self.stop()
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
            self._proc = subprocess.Popen([sys.executable, "-c", _CHILD, *self._work],
                                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
            self._results = queue.Queue()
            threading.Thread(target=_read_results, args=(self._proc.stdout, self._results), daemon=True).start()
        return self._proc

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
        self._proc = None


def _write_frame(stream: Any, value: Any) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_FRAME.pack(len(data)) + data)
    stream.flush()


def _read_frame(stream: Any) -> Any:
    """The next pickled value, or None at the end of the stream."""
    head = stream.read(_FRAME.size)
    if len(head) < _FRAME.size:
        return None
    return pickle.loads(stream.read(_FRAME.unpack(head)[0]))  # noqa: S301  (our own child's output)


def _read_results(stream: Any, results: queue.Queue[Extracted | None]) -> None:
    """The parent's reader thread: every result of the child into ``results``; None when the child is gone."""
    while (value := _read_frame(stream)) is not None:
        results.put(value)
    results.put(None)


def serve_child() -> None:
    """The child's entry (``python -c``, so no ``__main__`` module is involved): extract with ``_extract``, or with
    the ``module:function`` named on its command line (tests)."""
    work = _extract
    if len(sys.argv) > 1:
        module, _, function = sys.argv[1].partition(":")
        work = getattr(importlib.import_module(module), function)
    _serve(work)


def _serve(work: Callable[[str, str | None, ExtractConfig], Extracted]) -> None:
    """The child's loop: a page in on stdin, its extraction out on the original stdout (anything a library prints
    goes to stderr instead), until the parent closes the pipe."""
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    pages = sys.stdin.buffer
    while (page := _read_frame(pages)) is not None:
        _write_frame(out, work(*page))


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
atexit.register(_EXTRACTOR.stop)
