"""URL block lists: documents whose URL is on a category's list (adult, gambling, spam ...).

A list file holds one entry per line; blank lines and lines starting with ``#`` are ignored:

- a domain, ``example.com``: blocks the host and every subdomain (``www.example.com``, ``a.b.example.com``),
  never ``notexample.com`` or ``example.com.evil.org``; a single label (``xxx``) blocks a whole top-level domain;
- a wildcard pattern, ``*/wp-login.php*``: ``*`` is any run of characters, the rest is literal, the pattern must
  match the whole URL and case is ignored;
- a regular expression, ``re:^https?://[^/]+/casino/``: searched in the URL (anchor it with ``^``), as written.

Hosts are compared in a canonical form: lower case, without userinfo, port and trailing dot, and IDNA-encoded
with Python's ``idna`` codec (IDNA 2003), so ``bücher.example`` and ``xn--bcher-kva.example`` are the same host.
A URL without a scheme (``www.example.com/path``) is read as host plus path; patterns see the URL as given.
The host lookup checks each suffix of the host in a set: O(labels) per URL, whatever the lists' size. Domains are
checked before patterns; the most specific listed suffix wins, and a domain on several lists belongs to the
first category of the config; patterns are tried in category and file order.

The filter is built once on the driver (``UrlFilter.load``) and pickled to the executors with the rule set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from data_platform.yaml_lines import ConfigError

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*:)?//")  # a scheme, or a protocol-relative URL
_DOMAIN = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*")
_WILDCARD_DOMAIN = re.compile(r"\*\.[^*/:]+")  # "*.example.com": reported as a domain written wrongly


class UrlFilterConfig(BaseModel):
    """The ``urls`` cleaning stage: block-list files per category, in priority order."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    enabled: bool = True
    lists: dict[str, str] = Field({}, description="category -> list file, relative to the rule file's folder")


@dataclass(frozen=True)
class UrlMatch:
    """Why a URL is blocked: the category, the list file's name and the entry (the line as written)."""

    category: str
    list_file: str
    entry: str


@dataclass(frozen=True)
class UrlFilter:
    """Blocked domains (canonical host -> match) and URL patterns, in priority order."""

    domains: dict[str, UrlMatch]
    patterns: tuple[tuple[re.Pattern[str], UrlMatch], ...]

    @classmethod
    def load(cls, cfg: UrlFilterConfig, base: Path) -> UrlFilter:
        """Read the config's list files (paths relative to ``base``); raise ``ConfigError`` on a bad entry."""
        domains: dict[str, UrlMatch] = {}
        patterns: list[tuple[re.Pattern[str], UrlMatch]] = []
        for category, rel in (cfg.lists.items() if cfg.enabled else ()):
            path = base / rel
            for lineno, entry in _entries(path):
                found = UrlMatch(category, path.name, entry)
                try:
                    if _is_pattern(entry):
                        patterns.append((_compile(entry), found))
                    else:
                        domains.setdefault(_domain_entry(entry), found)
                except ValueError as err:
                    raise ConfigError(f"{path}:{lineno}: {entry!r}: {err}") from None
        return cls(domains, tuple(patterns))

    def match(self, url: str | None) -> UrlMatch | None:
        """The first list entry that blocks ``url``; None when none does or the URL is missing or unreadable."""
        if not url or not url.strip():
            return None
        url = url.strip()
        found = self._match_host(canonical_host(url))
        return found or next((m for pattern, m in self.patterns if pattern.search(url)), None)

    def _match_host(self, host: str | None) -> UrlMatch | None:
        if not host or not self.domains:
            return None
        labels = host.split(".")
        return next((self.domains[s] for i in range(len(labels))
                     if (s := ".".join(labels[i:])) in self.domains), None)


def canonical_host(url: str) -> str | None:
    """The URL's host in lower case, without userinfo, port and trailing dot, IDNA-encoded; None if unreadable."""
    try:
        host = urlsplit(url if _SCHEME.match(url) else "//" + url).hostname
    except ValueError:  # an unbalanced IPv6 bracket, a netloc that changes under NFKC
        return None
    return _idna(host.rstrip(".")) if host else None


def _idna(host: str) -> str | None:
    """ASCII hosts as they are; others encoded with the ``idna`` codec; None for an invalid name."""
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:  # an empty or over-long label
        return None


def _entries(path: Path) -> list[tuple[int, str]]:
    """(line number, entry) for each line that is neither blank nor a ``#`` comment."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [(i, s) for i, line in enumerate(lines, 1) if (s := line.strip()) and not s.startswith("#")]


def _is_pattern(entry: str) -> bool:
    return entry.startswith("re:") or ("*" in entry and not _WILDCARD_DOMAIN.fullmatch(entry))


def _compile(entry: str) -> re.Pattern[str]:
    """A ``re:`` entry as written; a wildcard entry as a case-insensitive whole-URL expression."""
    try:
        if entry.startswith("re:"):
            return re.compile(entry[3:])
        return re.compile(r"\A" + ".*".join(map(re.escape, entry.split("*"))) + r"\Z", re.IGNORECASE | re.DOTALL)
    except re.error as err:
        raise ValueError(f"not a valid regular expression: {err}") from None


def _domain_entry(entry: str) -> str:
    """A domain entry in the canonical host form; ValueError when the entry is no domain."""
    if entry.startswith("*."):
        raise ValueError(f"write {entry[2:]!r}: a domain entry already blocks every subdomain")
    domain = _idna(entry.lower().rstrip("."))
    if domain is None or not _DOMAIN.fullmatch(domain):
        raise ValueError("neither a domain (example.com) nor a pattern (with '*' or a leading 're:')")
    return domain
