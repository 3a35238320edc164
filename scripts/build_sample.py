#!/usr/bin/env python3
"""Build the committed sample corpus under ``data/sample/``.

The sample is small (well under 4 MB) and fully reproducible:

* ``pages.jsonl.gz``   real HTML pages from freely licensed Debian documentation packages
                       (installation guide, FAQ, New Maintainers' Guide, Developer's Reference)
                       in zh, en, de, fr, ja, ru, es and it, fetched with ``apt-get download``
                       and unpacked with ``dpkg -x``;
* ``pages.warc.gz``    two of those pages per language as WARC ``response`` records
                       (gzip per record, like Common Crawl), after a ``warcinfo`` record;
* ``truncated.warc.gz`` a three-record WARC whose last record is cut in half (bad input);
* ``synthetic.jsonl``  clearly labelled, generated low-quality documents plus clean controls;
* ``bad_input.jsonl``  deliberately broken JSONL records (bad input);
* ``README.md``        what each file is, and the Debian packages used with version and licence.

Usage (on Debian, as root or with apt-get download rights; needs network access to the Debian archive)::

    python scripts/build_sample.py              # writes data/sample/
    python scripts/build_sample.py --deb-dir D  # reuse .deb files already downloaded into D

Pages are decoded with the platform's own ``decode_html`` (as its HTML readers do); otherwise only the
standard library and ``warcio`` are used. Selection is deterministic: candidate pages are
filtered by text size and link density, then picked round-robin across packages in a seeded order.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import io
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Iterable, Iterator

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from data_platform.io.records import decode_html
from data_platform.text import HAN, HAN_COMPAT, KANA

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO_ROOT / "data" / "sample"
SEED = 20240501
PER_LANG = 20
MIN_TEXT_BYTES = 2_000
MAX_TEXT_BYTES = 30_000
MAX_HTML_BYTES = 300_000
MAX_LINK_RATIO = 0.3  # pages whose visible text is mostly link text are TOCs / indexes
MAX_ENGLISH_SHARE = 0.2  # translations keep some untranslated English paragraphs; skip pages with many
WARC_PER_LANG = 2
# Fixed capture date so that the WARC files are byte-for-byte reproducible.
WARC_DATE = "2024-05-01T00:00:00Z"
HTTP_DATE = "Wed, 01 May 2024 00:00:00 GMT"
WARC_BASE_URL = "https://www.debian.org/doc/"
LANGS = ("zh", "en", "de", "fr", "ja", "ru", "es", "it")

# package name -> documentation family
PACKAGES: dict[str, str] = {
    "installation-guide-amd64": "installation-guide",
    **{f"debian-faq{s}": "debian-faq" for s in ("", "-de", "-fr", "-it", "-ja", "-ru", "-zh-cn")},
    **{f"maint-guide{s}": "maint-guide" for s in ("", "-de", "-es", "-fr", "-it", "-ja", "-ru", "-zh-cn")},
    **{f"developers-reference{s}": "developers-reference" for s in ("", "-de", "-fr", "-it", "-ja", "-ru")},
}
# installation-guide-amd64 ships every language in its own sub-directory
INSTALL_GUIDE_LANG_DIRS = {"en": "en", "de": "de", "fr": "fr", "ja": "ja", "ru": "ru", "es": "es",
                           "it": "it", "zh_CN": "zh", "zh_TW": "zh"}


@dataclass(frozen=True)
class PackageInfo:
    name: str
    family: str
    version: str
    licence: str
    root: Path  # the unpacked tree (stands for "/")


@dataclass(frozen=True)
class Page:
    id: str
    url: str
    source: str
    lang: str
    html: str
    package: str
    licence: str
    charset: str

    def to_record(self) -> dict:
        return {"id": self.id, "url": self.url, "source": self.source, "lang": self.lang, "html": self.html,
                "meta": {"package": self.package, "licence": self.licence, "charset": self.charset}}


# --------------------------------------------------------------------------------------------- Debian packages

def run(cmd: list[str], cwd: Path | None = None) -> str:
    """Run a command, fail loudly, return its stdout."""
    return subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True).stdout


def available_packages(names: Iterable[str]) -> list[str]:
    """Names that apt knows about (``apt-cache show`` succeeds); warn about the others."""
    found = []
    for name in sorted(names):
        result = subprocess.run(["apt-cache", "show", "--no-all-versions", name], capture_output=True, text=True)
        if result.returncode == 0 and result.stdout.strip():
            found.append(name)
        else:
            print(f"warning: package {name} not found by apt-cache, skipped", file=sys.stderr)
    return found


def download_debs(names: list[str], dest: Path) -> None:
    """``apt-get update`` once, then ``apt-get download`` every package into ``dest``."""
    # apt downloads as the unprivileged _apt user; let it reach and write the (private, temporary) folder,
    # otherwise apt warns and falls back to downloading as root.
    dest.parent.chmod(0o755)
    dest.chmod(0o777)
    run(["apt-get", "update", "-qq"])
    run(["apt-get", "download", "-qq", *names], cwd=dest)


def find_deb(deb_dir: Path, name: str) -> Path:
    matches = sorted(deb_dir.glob(f"{name}_*.deb"))
    if not matches:
        raise FileNotFoundError(f"no {name}_*.deb in {deb_dir}")
    return matches[-1]


def unpack_package(deb: Path, name: str, family: str, dest: Path) -> PackageInfo:
    root = dest / name
    root.mkdir(parents=True, exist_ok=True)
    run(["dpkg", "-x", str(deb), str(root)])
    version = run(["dpkg-deb", "-f", str(deb), "Version"]).strip()
    copyright_file = root / "usr" / "share" / "doc" / name / "copyright"
    licence = detect_licence(copyright_file.read_text(encoding="utf-8", errors="replace"))
    return PackageInfo(name=name, family=family, version=version, licence=licence, root=root)


def detect_licence(text: str) -> str:
    """A short licence name from a Debian copyright file (machine-readable DEP-5 or free-form)."""
    if text.lstrip().startswith("Format:"):
        for stanza in re.split(r"\n\s*\n", text):
            files = re.search(r"^Files:\s*(.+)$", stanza, re.M)
            licence = re.search(r"^License:\s*(\S+)", stanza, re.M)
            if files and licence and files.group(1).split()[0] == "*":
                return licence.group(1)
        first = re.search(r"^License:\s*(\S+)", text, re.M)
        if first:
            return first.group(1)
    gpl = re.search(r"GNU (?:GPL|General Public License),? version (\d)", text)
    if gpl:
        later = "+" if re.search(r"any later version|or higher", text) else ""
        return f"GPL-{gpl.group(1)}{later}"
    if "Permission is granted to make and distribute verbatim copies" in text:
        return "permissive-notice"  # old GNU-manual style notice: copy, modify, translate with the notice kept
    return "unknown (see copyright file)"


# --------------------------------------------------------------------------------------------- HTML handling

class _TextExtractor(HTMLParser):
    """Visible text of a page (no script/style), and how much of it sits inside links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._skip = 0
        self._in_link = 0
        self.parts: list[str] = []
        self.link_parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag == "a":
            self._in_link += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1
        elif tag == "a" and self._in_link:
            self._in_link -= 1

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self.parts.append(data)
        if self._in_link:
            self.link_parts.append(data)


def visible_text(html: str) -> tuple[str, float]:
    """(whitespace-normalised visible text, share of it that is link text)."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    text = " ".join(" ".join(parser.parts).split())
    links = " ".join(" ".join(parser.link_parts).split())
    return text, len(links) / max(1, len(text))


_ENGLISH_STOPWORDS = frozenset("the and of to is you that for with are be this your will can which from have should "
                               "when there was were has been".split())
_LATIN_STOPWORDS = {
    "de": frozenset("der die und das ist nicht mit sie ein eine den dem für auf werden wird sich auch".split()),
    "fr": frozenset("le la les et est des une que pour dans du pas sont vous être il qui".split()),
    "es": frozenset("el la los las y es que de del para una por con se no su".split()),
    "it": frozenset("il di che la è per un una sono non con si del della le gli".split()),
}
_NATIVE_SCRIPT = {"ru": re.compile(r"[\u0400-\u04ff]"), "zh": re.compile(f"[{HAN}{HAN_COMPAT}]"),
                  "ja": re.compile(f"[{KANA}{HAN}{HAN_COMPAT}]")}
_SENTENCE_END = re.compile(r"(?<=[.!?\u3002\uff01\uff1f])\s+")
_LATIN_WORD = re.compile(r"[a-z\u00e0-\u00ff']+")


def _is_english_sentence(sentence: str, lang: str) -> bool:
    words = _LATIN_WORD.findall(sentence.lower())
    n_english = sum(w in _ENGLISH_STOPWORDS for w in words)
    if len(words) < 4 or n_english < 2 or n_english / len(words) < 0.15:
        return False
    if lang in _NATIVE_SCRIPT:
        return len(_NATIVE_SCRIPT[lang].findall(sentence)) <= 5
    return sum(w in _LATIN_STOPWORDS.get(lang, ()) for w in words) < n_english


def english_share(text: str, lang: str) -> float:
    """Share of characters in sentences that look English (untranslated) in a page labelled ``lang``."""
    if lang == "en":
        return 0.0
    sentences = _SENTENCE_END.split(text)
    english = sum(len(s) for s in sentences if _is_english_sentence(s, lang))
    return english / max(1, sum(len(s) for s in sentences))


def is_wanted(html: str, lang: str) -> bool:
    """Substantial text, not a link list, and mostly in its labelled language."""
    text, link_ratio = visible_text(html)
    return (MIN_TEXT_BYTES <= len(text.encode("utf-8")) <= MAX_TEXT_BYTES and link_ratio < MAX_LINK_RATIO
            and english_share(text, lang) <= MAX_ENGLISH_SHARE)


# --------------------------------------------------------------------------------------------- page collection

def page_lang(pkg: PackageInfo, rel_to_root: Path) -> str | None:
    """Language of a page: the sub-directory for the installation guide, the package suffix otherwise."""
    if pkg.family == "installation-guide":
        return INSTALL_GUIDE_LANG_DIRS.get(rel_to_root.parts[0])
    suffix = pkg.name[len(pkg.family):].lstrip("-")
    lang = suffix.split("-")[0] if suffix else "en"
    return lang if lang in LANGS else None


def html_files(pkg: PackageInfo) -> list[Path]:
    """Real (non-symlink) *.html files of the unpacked package, sorted."""
    return sorted(p for p in (pkg.root / "usr").rglob("*.html") if p.is_file() and not p.is_symlink())


def collect_pages(pkg: PackageInfo) -> Iterator[Page]:
    """Every substantial page of one package in a language we want."""
    files = html_files(pkg)
    if not files:
        return
    html_root = Path(os.path.commonpath([f.parent for f in files]))
    for path in files:
        rel = path.relative_to(html_root)
        lang = page_lang(pkg, rel)
        raw = path.read_bytes()
        if lang is None or len(raw) > MAX_HTML_BYTES:
            continue
        html, charset = decode_html(raw)
        if not is_wanted(html, lang):
            continue
        yield Page(id=f"{pkg.name}/{rel.as_posix()}", url="file:///" + path.relative_to(pkg.root).as_posix(),
                   source=f"debian-doc/{pkg.family}", lang=lang, html=html, package=pkg.name,
                   licence=pkg.licence, charset=charset)


def select_pages(pages: Iterable[Page], per_lang: int, seed: int) -> list[Page]:
    """Up to ``per_lang`` pages per language, round-robin over packages in a seeded order; sorted by id."""
    by_lang_pkg: dict[str, dict[str, list[Page]]] = defaultdict(lambda: defaultdict(list))
    for page in pages:
        by_lang_pkg[page.lang][page.package].append(page)
    chosen: list[Page] = []
    for lang in sorted(by_lang_pkg):
        queues = []
        for package in sorted(by_lang_pkg[lang]):
            queue = sorted(by_lang_pkg[lang][package], key=lambda p: p.id)
            random.Random(f"{seed}/{lang}/{package}").shuffle(queue)
            queues.append(queue)
        picked: list[Page] = []
        while len(picked) < per_lang and any(queues):
            for queue in queues:
                if queue and len(picked) < per_lang:
                    picked.append(queue.pop(0))
        chosen.extend(picked)
    return sorted(chosen, key=lambda p: p.id)


# --------------------------------------------------------------------------------------------- writers

def write_jsonl_gz(path: Path, records: Iterable[dict]) -> None:
    """gzip-compressed JSON lines with a zero mtime, so the bytes are reproducible."""
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        for record in records:
            gz.write(json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n")


def write_jsonl(path: Path, records: Iterable[dict]) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


def _record_id(name: str) -> str:
    return f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, name)}>"


def warc_records(pages: list[Page], filename: str) -> list:
    """A warcinfo record followed by one HTTP ``response`` record per page (body re-encoded to UTF-8)."""
    writer = WARCWriter(io.BytesIO(), gzip=True, warc_version="1.0")
    info = writer.create_warcinfo_record(filename, {
        "software": "data-platform scripts/build_sample.py (warcio)",
        "format": "WARC File Format 1.0",
        "description": "Sample of Debian documentation pages (see data/sample/README.md)",
        "isPartOf": "data-platform-sample",
    })
    info_id = _record_id(f"warcinfo:{filename}")
    info.rec_headers.replace_header("WARC-Record-ID", info_id)
    info.rec_headers.replace_header("WARC-Date", WARC_DATE)
    records = [info]
    for page in pages:
        body = page.html.encode("utf-8")
        uri = WARC_BASE_URL + page.id
        http_headers = StatusAndHeaders("200 OK", [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Length", str(len(body))),
            ("Date", HTTP_DATE),
            ("Server", "Apache"),
        ], protocol="HTTP/1.1")
        records.append(writer.create_warc_record(uri, "response", payload=io.BytesIO(body), length=len(body),
                                                 http_headers=http_headers, warc_headers_dict={
                                                     "WARC-Record-ID": _record_id(uri),
                                                     "WARC-Date": WARC_DATE,
                                                     "WARC-Warcinfo-ID": info_id,
                                                 }))
    return records


def warc_bytes(records: list) -> list[bytes]:
    """Each record serialised on its own (one gzip member per record)."""
    chunks = []
    for record in records:
        buf = io.BytesIO()
        WARCWriter(buf, gzip=True, warc_version="1.0").write_record(record)
        chunks.append(buf.getvalue())
    return chunks


def warc_sample(pages: list[Page], per_lang: int) -> list[Page]:
    """``per_lang`` pages per language (first by id), each from a different package where possible."""
    chosen: list[Page] = []
    for lang in LANGS:
        in_lang = sorted((p for p in pages if p.lang == lang), key=lambda p: p.id)
        picked: list[Page] = []
        for page in in_lang:
            if len(picked) < per_lang and page.package not in {p.package for p in picked}:
                picked.append(page)
        picked += [p for p in in_lang if p not in picked][: per_lang - len(picked)]
        chosen.extend(picked)
    return chosen


def write_warcs(out: Path, pages: list[Page]) -> None:
    sample = warc_sample(pages, WARC_PER_LANG)
    (out / "pages.warc.gz").write_bytes(b"".join(warc_bytes(warc_records(sample, "pages.warc.gz"))))
    # Bad input: warcinfo + 2 responses, the last one cut in the middle of its gzip member.
    three = warc_bytes(warc_records(sample[-2:], "truncated.warc.gz"))
    three[-1] = three[-1][: len(three[-1]) // 2]
    (out / "truncated.warc.gz").write_bytes(b"".join(three))


# --------------------------------------------------------------------------------------------- synthetic docs

BOILERPLATE = {
    "en": ["Click here to subscribe! Best prices guaranteed!", "Sign up today and get 50% off your first order!",
           "Limited offer - buy now, pay later!", "Follow us on social media for exclusive deals!"],
    "de": ["Jetzt klicken und abonnieren! Beste Preise garantiert!", "Nur heute: 50% Rabatt auf alles!"],
    "zh": ["点击这里立即订阅！保证最低价格！", "限时优惠，立即购买！"],
}
SPAM_KEYWORDS = [
    "casino poker jackpot betting bonus cheap viagra".split(),
    "cheap replica watches discount luxury handbags outlet sale free shipping".split(),
    "loan payday credit fast cash instant approval no credit check".split(),
    "weight loss pills diet miracle burn fat fast cheap".split(),
]
REPEATED_SENTENCES = [
    "The quick brown fox jumps over the lazy dog near the river bank.",
    "Please remember to close the door quietly when you leave the office tonight.",
    "Our team is working hard to bring you the best service in town.",
    "This page has been viewed many times by visitors from all around the world.",
]
MENU_ITEMS = ["Home", "About us", "Contact", "Products", "Services", "Blog", "News", "Login", "Register",
              "Cart", "Checkout", "FAQ", "Support", "Careers", "Sitemap", "Privacy", "Terms", "Search",
              "Gallery", "Events", "Downloads", "Partners", "Press", "Shop", "Account", "Help"]
VERY_SHORT = [("en", "Home | Login"), ("en", "Page not found"), ("de", "Startseite"), ("zh", "首页 | 登录")]
SYMBOL_TOKENS = ["★★★", "$$$", "♥♥♥", "🎰🎰🎰", "!!!", "###", "💰💰", "🔥🔥🔥", "***", ">>>", "€€€", "✓✓",
                 "~~~", "%%%", "@@@", "♦♦♦", "🎁", "👉👉", "===", "+++"]
SYMBOL_WORDS = ["WIN", "FREE", "BIG", "NOW"]
CLEAN_CONTROLS = [
    """Public libraries have long served as quiet anchors in the life of a town. Long before the internet made \
information easy to find, a library card offered anyone, regardless of income, access to books, newspapers and \
the patient help of a librarian. Many of the buildings we still use today were paid for by local donations and \
built with the expectation that they would last for generations.

The role of the library has changed, but it has not disappeared. On a typical weekday morning you might find \
retired readers browsing the new arrivals, a student printing a job application, and a parent reading picture \
books aloud to a toddler in the children's corner. In the afternoon, the tables fill up with teenagers doing \
homework, while a small group meets in a back room to practise conversation in a language they are learning.

Librarians often describe their work as connecting people with what they need, even when those people are not \
sure what that is. Someone who asks for a book about gardening may actually want advice on growing vegetables \
in a small balcony, and a good librarian will ask a few gentle questions before pointing them to the right shelf. \
That kind of human attention is difficult to replace, and it is one reason why many communities continue to \
support their libraries even as budgets grow tighter.""",
    """Bread is one of the oldest prepared foods, and the basic recipe has changed surprisingly little over \
thousands of years. Flour, water, salt and some form of yeast are all that is needed. What turns these simple \
ingredients into a loaf is time, warmth and a little patience from the baker.

When flour is mixed with water, two proteins in the wheat combine to form gluten, a stretchy network that gives \
dough its strength. Yeast feeds on the sugars in the flour and releases carbon dioxide, and the gluten traps the \
gas in countless small bubbles. This is why a well kneaded dough rises slowly in a warm kitchen, and why it \
collapses if the network is weak or the dough is left for too long.

Baking sets the structure. In the first minutes in a hot oven the gas expands quickly, the loaf grows, and the \
outside begins to brown as sugars and proteins react with each other. Home bakers often put a tray of water in \
the oven to create steam, which keeps the crust soft for a little longer and lets the bread rise further before \
it hardens. After baking, the loaf should cool on a rack, because cutting it too early leaves the crumb gummy \
and dense.""",
    """Keeping a bicycle in good condition does not require a workshop full of tools. A few simple habits, \
carried out once a week, can prevent most of the problems that leave riders stranded at the side of the road. \
The most important of these is checking the tyre pressure, since soft tyres wear out faster, make pedalling \
harder and are more likely to puncture.

The chain deserves attention as well. A dry or dirty chain makes a grinding noise, wastes energy and wears down \
the gears. Wiping it with a clean cloth and adding a few drops of oil to each link takes only a few minutes. It \
is better to use too little oil than too much, because excess oil attracts dust and turns into a dark paste \
that does more harm than good.

Finally, riders should test their brakes before every trip. Squeeze each lever firmly and make sure the bike \
stops without the lever touching the handlebar. If the brake pads are worn thin, or if the wheel rubs against \
them when it spins freely, it is time for an adjustment. Most local bike shops are happy to show customers how \
to do this themselves, and learning these small repairs gives many cyclists a welcome sense of independence.""",
    """Rain that falls on a small garden does not simply disappear. Some of it soaks into the soil, where plant \
roots can reach it over the following days. Some runs off hard surfaces such as paths and roofs, and some \
evaporates back into the air as soon as the sun comes out. Gardeners who understand this cycle can make much \
better use of the water they receive.

A layer of mulch, made from leaves, bark or straw, slows evaporation and keeps the soil cool during the summer. \
It also protects the surface from heavy rain, which can otherwise wash away fine particles and leave a hard \
crust behind. Over time the mulch breaks down and feeds the worms and insects that keep the soil loose and \
healthy.

Collecting rainwater is another simple step. A barrel placed under a downpipe can fill up after a single storm, \
and that water is usually better for plants than tap water because it contains no added chemicals. When dry \
weeks arrive, the gardener can water the beds early in the morning, when less is lost to the heat, and direct \
the water to the roots rather than the leaves.""",
]


def _synthetic(kind: str, n: int, text: str, lang: str = "en") -> dict:
    return {"id": f"synthetic/{kind}-{n}", "source": "synthetic", "lang": lang, "text": text,
            "meta": {"synthetic_kind": kind, "synthetic": "true"}}


def gen_boilerplate_spam(rng: random.Random) -> list[dict]:
    docs = []
    for n, lang in enumerate(("en", "en", "de", "zh"), 1):
        lines = rng.sample(BOILERPLATE[lang], k=rng.choice((1, 2)))
        docs.append(_synthetic("boilerplate_spam", n, "\n".join(rng.choice(lines) for _ in range(rng.randint(30, 45))),
                               lang))
    return docs


def gen_keyword_stuffing(rng: random.Random) -> list[dict]:
    docs = []
    for n, keywords in enumerate(SPAM_KEYWORDS, 1):
        words = [rng.choice(keywords) for _ in range(rng.randint(300, 400))]
        lines = [" ".join(words[i:i + 15]) for i in range(0, len(words), 15)]
        docs.append(_synthetic("keyword_stuffing", n, "\n".join(lines)))
    return docs


def _number(rng: random.Random) -> str:
    return str(rng.randint(0, 9999)) if rng.random() < 0.5 else f"{rng.uniform(0, 1000):.{rng.randint(1, 3)}f}"


def gen_digit_table(rng: random.Random) -> list[dict]:
    docs = []
    for n, sep in enumerate((" | ", ", ", "\t", " ; "), 1):
        cols = rng.randint(3, 6)
        rows = [sep.join(_number(rng) for _ in range(cols)) for _ in range(rng.randint(40, 60))]
        docs.append(_synthetic("digit_table", n, "\n".join(rows)))
    return docs


def gen_base64_blob(rng: random.Random) -> list[dict]:
    intros = ["Here is the attachment you asked for.", "The encoded payload follows below.",
              "Download the file from the data block.", "Please find the backup data attached."]
    docs = []
    for n, intro in enumerate(intros, 1):
        blob = base64.b64encode(rng.randbytes(rng.randint(3000, 6000))).decode("ascii")
        lines = [blob[i:i + 1000] for i in range(0, len(blob), 1000)]
        docs.append(_synthetic("base64_blob", n, intro + "\n" + "\n".join(lines)))
    return docs


def gen_repeated_lines(rng: random.Random) -> list[dict]:
    return [_synthetic("repeated_lines", n, "\n".join([sentence] * rng.randint(50, 60)))
            for n, sentence in enumerate(REPEATED_SENTENCES, 1)]


def gen_very_short(rng: random.Random) -> list[dict]:
    return [_synthetic("very_short", n, text, lang) for n, (lang, text) in enumerate(VERY_SHORT, 1)]


def gen_short_lines_menu(rng: random.Random) -> list[dict]:
    return [_synthetic("short_lines_menu", n, "\n".join(rng.choice(MENU_ITEMS) for _ in range(rng.randint(40, 60))))
            for n in range(1, 5)]


def gen_special_chars(rng: random.Random) -> list[dict]:
    docs = []
    for n in range(1, 5):
        lines = []
        for _ in range(rng.randint(20, 30)):
            tokens = [rng.choice(SYMBOL_TOKENS) for _ in range(rng.randint(4, 8))]
            if rng.random() < 0.3:
                tokens.insert(rng.randrange(len(tokens)), rng.choice(SYMBOL_WORDS))
            lines.append(" ".join(tokens))
        docs.append(_synthetic("special_chars", n, "\n".join(lines)))
    return docs


def gen_clean_control(rng: random.Random) -> list[dict]:
    return [_synthetic("clean_control", n, text) for n, text in enumerate(CLEAN_CONTROLS, 1)]


SYNTHETIC_GENERATORS = {
    "boilerplate_spam": gen_boilerplate_spam,
    "keyword_stuffing": gen_keyword_stuffing,
    "digit_table": gen_digit_table,
    "base64_blob": gen_base64_blob,
    "repeated_lines": gen_repeated_lines,
    "very_short": gen_very_short,
    "short_lines_menu": gen_short_lines_menu,
    "special_chars": gen_special_chars,
    "clean_control": gen_clean_control,
}


def synthetic_docs(seed: int) -> list[dict]:
    docs = []
    for kind, generate in SYNTHETIC_GENERATORS.items():
        docs.extend(generate(random.Random(f"{seed}/{kind}")))
    return docs


# --------------------------------------------------------------------------------------------- bad input

def bad_input_lines(seed: int) -> list[bytes]:
    """Deliberately broken JSONL lines (bytes); each is described in README.md."""
    rng = random.Random(f"{seed}/bad_input")
    junk = "".join(chr(c) for c in range(0, 9)) * 8 + "\ufffd" * 16 + rng.randbytes(256).decode("latin-1")
    junk = "".join(rng.sample(junk, len(junk)))

    def dump(obj: object) -> bytes:
        return json.dumps(obj, ensure_ascii=True).encode("ascii")

    return [
        dump({"id": "bad/ok-1", "text": "A perfectly normal sentence that should pass through the reader unchanged, "
                                        "with enough words to be a document."}),
        b'{"id": "bad/malformed-1", "text": "unterminated',
        b'{"id": "bad/nonutf8-1", "text": "caf\xe9 au lait \xff\xfe"}',
        dump({"id": "bad/notext-1", "meta": {"note": "no text field"}}),
        b"",
        dump({"id": "bad/empty-1", "text": ""}),
        dump({"id": "bad/binary-1", "text": junk}),
        dump({"id": "bad/html-notext-1", "html": "<html><body><div><script>var x=1;</script><<<>>></div"}),
        b"[1,2,3]",
    ]


# --------------------------------------------------------------------------------------------- README

def os_release() -> str:
    try:
        text = Path("/etc/os-release").read_text(encoding="utf-8")
    except OSError:
        return "Debian"
    match = re.search(r'^PRETTY_NAME="?([^"\n]+)"?', text, re.M)
    return match.group(1) if match else "Debian"


def readme(packages: list[PackageInfo], pages: list[Page], warc_pages: list[Page], synthetic: list[dict],
           out: Path) -> str:
    per_pkg = Counter(p.package for p in pages)
    per_lang = Counter(p.lang for p in pages)
    per_kind = Counter(d["meta"]["synthetic_kind"] for d in synthetic)
    sizes = {f.name: f.stat().st_size for f in sorted(out.iterdir()) if f.name != "README.md"}
    rows = "\n".join(f"| {p.name} | {p.version} | {p.family} | {p.licence} | {per_pkg[p.name]} |"
                     for p in packages if per_pkg[p.name])
    langs = ", ".join(f"{lang} {per_lang[lang]}" for lang in LANGS)
    kinds = ", ".join(f"{k} {v}" for k, v in per_kind.items())
    files = "\n".join(f"| `{name}` | {size:,} |" for name, size in sizes.items())
    xml_decl = sum(p.html.lstrip().startswith("<?xml") for p in pages)
    return f"""# Sample corpus

Small, committed, reproducible test data for the cleaning pipeline. Rebuild it with

    python scripts/build_sample.py

(Debian only: it runs `apt-get update`, `apt-get download` and `dpkg -x`; the output is deterministic.)

| file | bytes |
| --- | --- |
{files}

## Files

- `pages.jsonl.gz` — {len(pages)} real HTML pages from Debian documentation packages, one JSON object a line:
  `id` (`<package>/<path>`), `url` (`file:///...` where the package installs it), `source`
  (`debian-doc/<family>`), `lang` (two-letter code; `zh` is Simplified Chinese), `html` (the raw page, decoded
  to text with its declared charset) and `meta` (`package`, `licence`, `charset` — the charset the page was
  decoded from). Pages per language: {langs}. Pages were kept when their visible text is {MIN_TEXT_BYTES:,} to
  {MAX_TEXT_BYTES:,} bytes, less than {MAX_LINK_RATIO:.0%} of it is link text (which drops indexes and tables of
  contents) and at most {MAX_ENGLISH_SHARE:.0%} of it is in untranslated English sentences (translations of these
  manuals keep some English paragraphs), then picked round-robin across packages in a seeded order, at most
  {PER_LANG} per language. Pages still contain some English (commands, package names, short untranslated bits).
- `pages.warc.gz` — {len(warc_pages)} of those pages ({WARC_PER_LANG} per language) as WARC/1.0 `response`
  records with HTTP headers (`Content-Type: text/html; charset=utf-8`, body re-encoded to UTF-8), one gzip member
  per record as in Common Crawl, after a `warcinfo` record. `WARC-Target-URI` is
  `{WARC_BASE_URL}<id>`. Record ids and dates are fixed, so the file is byte-for-byte reproducible.
- `truncated.warc.gz` — bad input: a `warcinfo` record and two `response` records, with the last record's gzip
  member cut in half. Plain `gzip` decompression raises `EOFError` at the cut. Note that warcio's
  `ArchiveIterator` (1.8) does **not** raise: it yields the third record with a short body (fewer bytes than its
  `Content-Length`), so a reader has to compare the two to notice the truncation.
- `synthetic.jsonl` — {len(synthetic)} **generated** documents, every one labelled `"source": "synthetic"`,
  `meta.synthetic = "true"` and `meta.synthetic_kind`; plain `text`, no `html`. Kinds: {kinds}.
  All kinds except `clean_control` are low-quality on purpose and should be dropped by quality filters;
  `clean_control` documents are normal English prose written for this sample and should be kept.
- `bad_input.jsonl` — bad input, one case a line: a valid record (`bad/ok-1`); malformed JSON
  (`bad/malformed-1`); invalid UTF-8 bytes inside the text (`bad/nonutf8-1`); no `text` field (`bad/notext-1`);
  a blank line; empty text (`bad/empty-1`); text of control characters, U+FFFD and random bytes read as
  Latin-1 (`bad/binary-1`); an `html` field with no extractable text (`bad/html-notext-1`); valid JSON that is not
  an object (`[1,2,3]`).

## Pitfalls for readers of this data

- {xml_decl} of the {len(pages)} pages (the DocBook XHTML ones) start with `<?xml ... encoding="UTF-8"?>`.
  `lxml.html.fromstring(str)` refuses such a `str` (`ValueError: Unicode strings with encoding declaration are not
  supported`); strip the declaration or pass bytes. trafilatura copes with it.
- The `html` strings still carry their original `<meta charset>` / XML declaration. All pages of these Debian 12
  packages happen to be UTF-8, so `meta.charset` is `utf-8` throughout; the builder still honours a BOM, XML
  declaration or `<meta>` charset (EUC-JP, GB2312 read as GB18030, KOI8-R, ISO-8859-1 read as cp1252, ...).

## Debian packages used

From {os_release()}. Licences are read from each package's `/usr/share/doc/<package>/copyright`
(`permissive-notice`: the Debian FAQ's notice allowing verbatim and modified copies and translations provided the
notice is kept).

| package | version | family | licence | pages |
| --- | --- | --- | --- | --- |
{rows}
"""


# --------------------------------------------------------------------------------------------- main

def prepare_packages(deb_dir: Path | None, work: Path) -> list[PackageInfo]:
    names = available_packages(PACKAGES)
    if deb_dir is None:
        deb_dir = work / "debs"
        deb_dir.mkdir()
        download_debs(names, deb_dir)
    return [unpack_package(find_deb(deb_dir, name), name, PACKAGES[name], work / "root") for name in names]


def build(out: Path, per_lang: int, seed: int, deb_dir: Path | None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="build_sample_") as tmp:
        packages = prepare_packages(deb_dir, Path(tmp))
        candidates = [page for pkg in packages for page in collect_pages(pkg)]
    pages = select_pages(candidates, per_lang, seed)
    missing = [lang for lang in LANGS if not any(p.lang == lang for p in pages)]
    if missing:
        raise SystemExit(f"no pages found for {missing}")

    write_jsonl_gz(out / "pages.jsonl.gz", (p.to_record() for p in pages))
    write_warcs(out, pages)
    synthetic = synthetic_docs(seed)
    write_jsonl(out / "synthetic.jsonl", synthetic)
    (out / "bad_input.jsonl").write_bytes(b"\n".join(bad_input_lines(seed)) + b"\n")
    (out / "README.md").write_text(readme(packages, pages, warc_sample(pages, WARC_PER_LANG), synthetic, out),
                                   encoding="utf-8")

    print(f"{len(pages)} pages from {len(candidates)} candidates: "
          + ", ".join(f"{k}={v}" for k, v in sorted(Counter(p.lang for p in pages).items())))
    for f in sorted(out.iterdir()):
        print(f"  {f.relative_to(REPO_ROOT) if f.is_relative_to(REPO_ROOT) else f}  {f.stat().st_size:,} bytes")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: data/sample)")
    parser.add_argument("--per-lang", type=int, default=PER_LANG, help="pages per language (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=SEED, help="selection / generation seed")
    parser.add_argument("--deb-dir", type=Path, help="use .deb files already in this folder instead of downloading")
    args = parser.parse_args(argv)
    build(args.out, args.per_lang, args.seed, args.deb_dir)


if __name__ == "__main__":
    main()
