"""PII redaction for pretraining text: e-mail addresses, IP addresses, phone numbers and configured id patterns.

Every kind is a candidate regular expression plus a validator that rejects look-alikes; a validated match is
replaced by the kind's placeholder and counted. Kinds run in the order ids, email, ip, phone, so the digits of
an id or of an e-mail address are gone before the IP and phone patterns look at the text.

All patterns are compiled with ``re.ASCII``: ``\\d``, ``\\w`` and ``\\b`` are ASCII-only, so a ``\\b`` fires
between a Chinese character and a digit (``号码13800138000``) and full-width digits are not matched (the
normalize stage folds them with NFKC). Boundaries are written as ASCII look-arounds for the same reason: a match
may touch CJK text but never continue an ASCII word or number.

E-mail: ``local@domain.tld`` with at least one dot in the domain and a letter-only TLD, so ``user@localhost``
and ``pkg@1.2.3`` are kept. The user part of SSH remotes (``git@github.com:org/repo``) and the password part of
``https://user:pass@host.com`` URLs are redacted like any address. Retina image names (``logo@2x.png``) are kept
by :func:`_is_email`.

IP: IPv6 runs before IPv4 so ``::ffff:192.0.2.1`` becomes one placeholder. See :func:`_is_ipv4` and
:func:`_is_ipv6` for what is kept.

Phone: shapes, not any run of digits. See :data:`_PHONE_SHAPES` for the accepted shapes and :func:`_is_phone` for the
checks on them.

Known limitations: national numbers are found in the shapes of :data:`_PHONE_SHAPES` (North American, Chinese,
French, Japanese, trunk-0 European, Russian); others only in ``+`` international form (Spanish ``912 345 678``
is kept, ``+34 912 345 678`` is redacted); a row of five two-digit numbers from ``01`` looks French and is
redacted; a URL path in front of an address (``https://host/path/a@b.com``) is taken as its local part; an
11-digit number that looks
like a Chinese mobile (``15000000000`` without a currency after it) is redacted; a four-part software version
without a version word before it (``Python 3.11.7.1``) is redacted as an IPv4 address; internationalized
e-mail addresses (non-ASCII local part or domain) are not found; a sentence that goes on without a space after
an address (``a@example.com.Next``) has its first word taken as part of the domain.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

BUILTIN_KINDS = ("email", "ip", "phone")
DEFAULT_PLACEHOLDERS = {"email": "<EMAIL>", "phone": "<PHONE>", "ip": "<IP>"}
_ID_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


class PiiConfig(BaseModel):
    """What to redact and with what. Id patterns are Python regular expressions compiled with ``re.ASCII``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    email: bool = True
    phone: bool = True
    ip: bool = True
    id_patterns: dict[str, str] = Field({}, description="name -> regular expression, e.g. cn_id")
    placeholders: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_PLACEHOLDERS),
        description="kind or id name -> replacement; an id without one gets its name upper-cased: <CN_ID>",
    )

    @field_validator("id_patterns")
    @classmethod
    def _ids_compile(cls, v: dict[str, str]) -> dict[str, str]:
        for name, pattern in v.items():
            if not _ID_NAME.fullmatch(name) or name in BUILTIN_KINDS:
                raise ValueError(f"id pattern name {name!r} must be an identifier other than "
                                 f"{', '.join(BUILTIN_KINDS)}")
            try:
                re.compile(pattern, re.ASCII)
            except re.error as err:
                raise ValueError(f"id pattern {name!r} is not a valid regular expression: {err}") from None
        return v

    @field_validator("placeholders")
    @classmethod
    def _over_defaults(cls, v: dict[str, str]) -> dict[str, str]:
        return {**DEFAULT_PLACEHOLDERS, **v}

    @model_validator(mode="after")
    def _placeholders_known(self) -> "PiiConfig":
        unknown = sorted(set(self.placeholders) - set(BUILTIN_KINDS) - set(self.id_patterns))
        if unknown:
            raise ValueError(f"placeholders for unknown kinds {unknown}; kinds are "
                             f"{', '.join(BUILTIN_KINDS)} and the id_patterns names")
        return self

    def placeholder(self, kind: str) -> str:
        """The replacement for ``kind`` (a built-in kind or an id pattern name)."""
        return self.placeholders.get(kind, f"<{kind.upper()}>")


Validator = Callable[[re.Match[str]], bool]
Stage = tuple[str, re.Pattern[str], Validator, str]  # kind, pattern, validator, a substring every match holds

# Local part: RFC 5322 atext without quotes, braces, '|', '=' and '`' (kept as text: 'x@y.org', {x@y.org},
# email=x@y.org), dots and '/' inside, or a quoted string. A start right after '.' or '/' is allowed, so
# '.john@example.com' loses all of 'john'; the leftmost start wins, so 'john.smith@...' is taken whole.
# Domain: labels with a letter-only TLD, or an address literal in brackets ([10.1.2.3], [IPv6:2001:db8::1]).
_EMAIL = re.compile(
    r"""(?:(?<![A-Za-z0-9_%+\-!#$&*^~])[A-Za-z0-9_%+\-!#$&*^~][A-Za-z0-9._%+\-!#$&*^~/]*"""
    r"""|(?<![A-Za-z0-9"\\])"(?:[^"\\\n]|\\.){1,64}")"""
    r"@(?:(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}(?![A-Za-z0-9\-])"
    r"|\[(?:IPv6:)?[0-9A-Fa-f:.]{2,45}\])",
    re.ASCII,
)
# "TLDs" that are file extensions: logo@2x.png, icon@3x.webp.
_FILE_EXTENSIONS = frozenset({"png", "jpg", "jpeg", "gif", "svg", "webp", "avif", "bmp", "ico", "pdf", "js",
                              "css", "htm", "html"})

_IPV4 = re.compile(r"(?<![0-9A-Za-z.])(?:\d{1,3}\.){3}\d{1,3}(?![0-9A-Za-z]|\.\d)", re.ASCII)
# Hex groups and colons with two colons among the first two groups; ends in a hex digit, '::' or a dotted quad.
_IPV6 = re.compile(
    r"(?<![0-9A-Za-z:.])(?=[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:)"
    r"[0-9A-Fa-f:]*(?::(?:\d{1,3}\.){3}\d{1,3}|::|[0-9A-Fa-f])"
    r"(?![0-9A-Za-z]|\.\d)",
    re.ASCII,
)
# A version word right before a dotted quad: "v 1.2.3.4", "version: 1.2.3.4", "Release 10.0.0.1", "ver. 2.0.1.3".
_VERSION_BEFORE = re.compile(r"\b(?:v|ver|versions?|releases?)\.?\s*[:#]?\s*$", re.ASCII | re.IGNORECASE)
_VERSION_WINDOW = 16

# Phone shapes. Separators are one space, '.' or '-'. Dates (2024-01-15, 15/01/2024, 2024.01.15), times and
# timestamps (12:30:45, 2024-01-15T10:20:30Z, 1700000000), versions (1.2.3), ISBNs (978-0-306-40615-7) and
# plain numbers fit none of them; the shared boundaries stop a match inside a longer number, word, decimal or
# date (no ASCII letter or digit on either side, no '.', ',', '-' or '/' joining another digit).
_NO_START = r"(?<![0-9A-Za-z+.,/\-])"
_PHONE_SHAPES = (
    # International: '+', country code and groups: +44 20 7946 0958, +1-202-555-0143, +44 (0)20 7946 0958.
    # Possessive, so a number that fails the end boundary is not retried shorter.
    r"(?<![0-9A-Za-z+])\+\d++(?:[ .\-]?\(\d{1,4}\)[ .\-]?\d++|[ .\-]\d++)*+",
    # North American NXX-NXX-XXXX: (202) 555-0143, 202-555-0143, 202.555.0143, 1-800-555-0199.
    _NO_START + r"(?:1[ .\-])?(?:\([2-9]\d\d\) ?|[2-9]\d\d[ .\-])[2-9]\d\d[ .\-]\d{4}",
    # Chinese mobile 1[3-9]X XXXX XXXX, contiguous or with one kind of separator: 13800138000, 138-0013-8000.
    _NO_START + r"1[3-9]\d(?:\d{8}|(?P<cn_sep>[ \-])\d{4}(?P=cn_sep)\d{4})",
    # Chinese landline: trunk 0, 2-3 digit area code, '-', 7-8 digit local number: 010-62345678, 0755-2345678.
    _NO_START + r"0[1-9]\d{1,2}-[2-9]\d{6,7}",
    # French: five pairs from 0[1-9], one kind of separator: 01 23 45 67 89, 06.12.34.56.78, 06-12-34-56-78.
    _NO_START + r"0[1-9](?P<fr_sep>[ .\-])\d\d(?:(?P=fr_sep)\d\d){3}",
    # Japanese: trunk 0, area/mobile prefix, three hyphenated groups: 03-1234-5678, 090-1234-5678.
    _NO_START + r"0[1-9]\d{0,3}-\d{1,4}-\d{4}",
    # British, German, Italian ... national: trunk 0, area code, one or two spaced groups:
    # 020 7946 0958, 0161 496 0000, 030 12345678, 06 1234 5678 (8 to 15 digits, checked by the validator).
    _NO_START + r"0[1-9]\d{0,4} (?:\d{3,4} \d{3,4}|\d{5,8})",
    # Russian trunk 8 with the area code in brackets: 8 (495) 123-45-67, 8 (812) 123-45-67.
    _NO_START + r"8 ?\(\d{3,5}\) ?\d{1,3}-\d\d-\d\d",
)
# The leading look-ahead fails fast at the positions no shape can start at (most of a text).
_PHONE = re.compile(r"(?=[+(0-9])(?:" + "|".join(_PHONE_SHAPES) + r")(?![0-9A-Za-z]|[.,\-/]\d)", re.ASCII)
_CURRENCY_BEFORE = re.compile(r"[$€£¥₹₩]\s?$")
_CURRENCY_AFTER = re.compile(r"\s?(?:[$€£¥₹₩%元円]|USD|EUR|RMB|CNY)")
_E164_DIGITS = range(8, 16)


def _is_email(m: re.Match[str]) -> bool:
    """Reject retina image names and similar: the 'TLD' is a file extension (``logo@2x.png``); an address
    literal must hold a valid IP address."""
    address = m.group()
    if address.endswith("]"):
        literal = address[address.rindex("[") + 1 : -1].removeprefix("IPv6:")
        try:
            ipaddress.ip_address(literal)
        except ValueError:
            return False
        return True
    return address.rsplit(".", 1)[1].lower() not in _FILE_EXTENSIONS


def _is_ipv4(m: re.Match[str]) -> bool:
    """A valid address (octets 0-255, no leading zeros: ``999.1.1.1`` and ``010.1.1.1`` are kept) that is not
    a software version, i.e. not right after a version word (``v``, ``ver.``, ``version``, ``release``; any
    case, then optional ``:``/``#`` and spaces) within the 16 characters before it."""
    try:
        ipaddress.IPv4Address(m.group())
    except ValueError:
        return False
    return not _VERSION_BEFORE.search(m.string, max(0, m.start() - _VERSION_WINDOW), m.start())


def _is_ipv6(m: re.Match[str]) -> bool:
    """A valid address with at least three groups (a dotted quad counts as two). Times (``12:30:45``) and MAC
    addresses fail ``ipaddress``; the group minimum keeps code that happens to be valid IPv6, such as Python
    slices (``x[1::2]``) and C++ scopes of hex-letter names (``Face::add``), and with it ``::1`` and
    ``fe80::1``, which identify no one."""
    text = m.group()
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    groups = [g for g in text.split(":") if g]
    return len(groups) + ("." in text) >= 3


def _is_phone(m: re.Match[str]) -> bool:
    """8 to 15 digits (E.164) and no currency next to it: ``$ 202-555-0143``, ``13800000000元`` and
    ``+12 345 678 €`` are amounts, not numbers to call."""
    digits = sum(c.isdigit() for c in m.group())
    return (digits in _E164_DIGITS
            and not _CURRENCY_BEFORE.search(m.string, max(0, m.start() - 2), m.start())
            and not _CURRENCY_AFTER.match(m.string, m.end()))


_BUILTIN_STAGES: tuple[Stage, ...] = (  # a text without the stage's substring is not scanned (most have no '@')
    ("email", _EMAIL, _is_email, "@"),
    ("ip", _IPV6, _is_ipv6, ":"),
    ("ip", _IPV4, _is_ipv4, "."),
    ("phone", _PHONE, _is_phone, ""),
)


def _non_empty(m: re.Match[str]) -> bool:
    """Id patterns are taken as written; only empty matches (``\\d*``) are skipped."""
    return bool(m.group())


@lru_cache(maxsize=64)
def _id_stages(patterns: tuple[tuple[str, str], ...]) -> tuple[Stage, ...]:
    return tuple((name, re.compile(pattern, re.ASCII), _non_empty, "") for name, pattern in patterns)


def _stages(cfg: PiiConfig) -> tuple[Stage, ...]:
    """Ids (in configuration order), then the enabled built-in kinds."""
    builtin = tuple(s for s in _BUILTIN_STAGES if getattr(cfg, s[0]))
    return _id_stages(tuple(cfg.id_patterns.items())) + builtin


def _replace(text: str, pattern: re.Pattern[str], valid: Validator, placeholder: str) -> tuple[str, int]:
    count = 0

    def repl(m: re.Match[str]) -> str:
        nonlocal count
        if not valid(m):
            return m.group()
        count += 1
        return placeholder

    return pattern.sub(repl, text), count


def redact(text: str, cfg: PiiConfig) -> tuple[str, dict[str, int]]:
    """``text`` with PII replaced by placeholders, and the number of replacements per kind (kinds with none are
    left out). Kinds are ``email``, ``ip``, ``phone`` and the id pattern names."""
    counts: dict[str, int] = {}
    if not cfg.enabled:
        return text, counts
    for kind, pattern, valid, needle in _stages(cfg):
        if needle not in text:
            continue
        text, n = _replace(text, pattern, valid, cfg.placeholder(kind))
        if n:
            counts[kind] = counts.get(kind, 0) + n
    return text, counts
