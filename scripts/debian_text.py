"""Text from Debian packages: download with provenance, then one extractor per documentation format.

A library for corpus builders (``build_reference.py``; meant to serve other corpora too):

* ``fetch_packages(names, cache)`` downloads the ``.deb`` files that are not yet in ``cache/debs``
  (``apt-get download``), unpacks each into ``cache/root/<name>`` (``dpkg -x``) and returns its
  ``DebPackage``: name, version (``dpkg-deb -f``), licence (from ``/usr/share/doc/<name>/copyright``,
  or an override read by hand where the copyright file is free-form) and the unpacked tree.
* Extractors, each from a file's bytes to plain text (``None`` when there is none):
  ``man_text`` (troff man/mdoc pages rendered by groff, one paragraph a line),
  ``html_text`` (the project's ``decode_html`` + ``extract_html``, trafilatura),
  ``mallard_text`` (GNOME's Mallard ``.page`` XML, one block a line).
* ``sections(text, max_chars, section_chars, min_chars)`` cuts a very long text at line boundaries.

The download helpers are those of ``build_sample.py`` (``download_debs``, ``find_deb``, ``detect_licence``,
``run``), imported rather than rewritten.
"""

from __future__ import annotations

import gzip
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from data_platform.config import ExtractConfig
from data_platform.extract import extract_html
from data_platform.io.records import decode_html

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_sample import detect_licence, download_debs, find_deb, run  # noqa: E402  (scripts/ is not a package)

GROFF_TIMEOUT_S = 30.0
# groff, as man(1) would run it for a terminal, but: -k (preconv: input encoding), -t (tbl tables), -mandoc
# (man and mdoc macros), -P-cbou (no SGR escapes, no overstriking: plain text), LL very large and no
# hyphenation or justification, so that every filled paragraph comes out as one line, like a web page's text.
GROFF = ["groff", "-k", "-t", "-mandoc", "-Tutf8", "-P-cbou", "-rLL=20000n", "-rHY=0", "-dAD=l", "-rcR=1"]
# A man page's running header and footer end with the page name and section, e.g. ``LS(1)``.
_HEADER_FOOTER = re.compile(r"\S+\([0-9][0-9A-Za-z]*\)\s*$")
_BLANK_RUNS = re.compile(r"\n{3,}")
# groff draws tbl boxes and ``\l`` rules across its 20000-column page: runs of one symbol (─ ═ - = . ...) thousands
# long, and lines of box-drawing characters only; right-aligned tab padding runs as far. Runs are cut to three,
# box-only lines dropped, padding cut to one space.
_SYMBOL_RUN = re.compile(r"([^\w\s]|_)\1{19,}")
_BOX_LINE = re.compile(r"^[\u2500-\u257f\s|+\-=_]*$")
_PADDING = re.compile(r" {100,}")
# Mallard elements whose text is one line of the document; <info> (credits, links, revisions) is metadata.
MALLARD_BLOCKS = frozenset({"title", "subtitle", "p", "item", "code", "screen", "td", "th", "desc", "tt"})
MALLARD_SKIP = frozenset({"info", "comment"})
HTML_EXTRACT = ExtractConfig(include_tables=True, include_comments=False, favor_precision=True)
HTML_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class DebPackage:
    """One unpacked Debian package and its provenance."""

    name: str
    version: str
    licence: str
    root: Path  # the unpacked tree (stands for "/")


# --------------------------------------------------------------------------------------------- packages

def fetch_packages(names: list[str], cache: Path, licences: dict[str, str] | None = None) -> dict[str, DebPackage]:
    """Download (when missing) and unpack ``names`` under ``cache``; ``licences`` overrides free-form ones."""
    debs, unpacked = cache / "debs", cache / "root"
    debs.mkdir(parents=True, exist_ok=True)
    missing = [n for n in names if not list(debs.glob(f"{n}_*.deb"))]
    if missing:
        download_debs(missing, debs)
    return {name: unpack(find_deb(debs, name), name, unpacked, (licences or {}).get(name)) for name in names}


def unpack(deb: Path, name: str, dest: Path, licence: str | None = None) -> DebPackage:
    """``dpkg -x`` one ``.deb`` into ``dest/name`` (once) and read its version and licence."""
    root = dest / name
    if not (root / "usr").is_dir():
        root.mkdir(parents=True, exist_ok=True)
        run(["dpkg", "-x", str(deb), str(root)])
    version = run(["dpkg-deb", "-f", str(deb), "Version"]).strip()
    if licence is None:
        copyright_file = root / "usr/share/doc" / name / "copyright"
        text = copyright_file.read_text(encoding="utf-8", errors="replace") if copyright_file.exists() else ""
        licence = detect_licence(text)
    return DebPackage(name=name, version=version, licence=licence, root=root)


# --------------------------------------------------------------------------------------------- man pages

def man_source(raw: bytes) -> bytes | None:
    """A man page's troff source (gunzipped); ``None`` for a ``.so`` link to another page."""
    data = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    return None if data.lstrip().startswith(b".so ") else data


def render_man(source: bytes) -> str:
    """groff's plain-text rendering of a man page (warnings ignored; a groff failure raises)."""
    done = subprocess.run(GROFF, input=source, capture_output=True, check=True, timeout=GROFF_TIMEOUT_S)
    return done.stdout.decode("utf-8", errors="replace")


def squeeze_rules(text: str) -> str:
    """The text with runs of 20+ copies of one symbol cut to three and box-drawing-only lines dropped."""
    lines = (_SYMBOL_RUN.sub(lambda m: m.group(1)[:1] * 3, line) for line in text.split("\n"))
    return "\n".join(line for line in lines if not (line.strip() and _BOX_LINE.match(line)))


def clean_man_output(rendered: str) -> str:
    """Rendered page -> text: running header and footer and drawn rules dropped, indentation and tab padding
    stripped, blank runs folded."""
    lines = [line.strip() for line in rendered.replace("\u00ad", "").splitlines()]
    lines = [_PADDING.sub(" ", line) for line in squeeze_rules("\n".join(lines)).split("\n")]
    content = [i for i, line in enumerate(lines) if line]
    for i in (content[:1] + content[-1:]) if content else []:
        if _HEADER_FOOTER.search(lines[i]):
            lines[i] = ""
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip()


def man_text(raw: bytes) -> str | None:
    """Text of one (possibly gzipped) man page file, or ``None`` (a link, or groff failed)."""
    source = man_source(raw)
    if source is None:
        return None
    try:
        return clean_man_output(render_man(source)) or None
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
        return None


# --------------------------------------------------------------------------------------------- HTML, Mallard

def html_text(raw: bytes) -> str | None:
    """Main text of one HTML page, decoded and extracted as the platform's HTML readers do."""
    html, _ = decode_html(raw)
    return extract_html(html, None, HTML_EXTRACT, HTML_TIMEOUT_S).text


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _blocks(element: etree._Element, out: list[str]) -> None:
    """Append the text of each outermost block element under ``element`` (one line each)."""
    for child in element:
        name = _local(child.tag)
        if name in MALLARD_SKIP:
            continue
        if name in MALLARD_BLOCKS and not any(_local(d.tag) in {"p", "item"} for d in child.iterdescendants()):
            text = " ".join("".join(child.itertext()).split())
            if text:
                out.append(text)
        else:
            _blocks(child, out)


def mallard_text(raw: bytes) -> str | None:
    """Text of one Mallard ``.page``: titles, paragraphs, list items and table cells, one a line."""
    try:
        root = etree.fromstring(raw, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return None
    out: list[str] = []
    _blocks(root, out)
    return "\n".join(out) or None


# --------------------------------------------------------------------------------------------- long texts

def sections(text: str, max_chars: int, section_chars: int, min_chars: int) -> list[str]:
    """``[text]``, or for a text over ``max_chars`` runs of whole lines of about ``section_chars`` each."""
    if len(text) <= max_chars:
        return [text]
    out, current, size = [], [], 0
    for line in text.split("\n"):
        current.append(line)
        size += len(line) + 1
        if size >= section_chars:
            out.append("\n".join(current).strip())
            current, size = [], 0
    if current:
        out.append("\n".join(current).strip())
    return [s for s in out if len(s) >= min_chars]
