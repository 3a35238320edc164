"""Removal-rate alarms: a stage that removes far more than expected stops the job before ``_COMPLETE``.

Every stage a job decides (a quarantine reason, a rule, a dedup step, semantic dedup: one drop reason each) has
an expectation ``max_removed_share``: the largest share of the documents *reaching* the stage (the funnel's
documents left before it) that it may drop; a stage reached by fewer than ``min_documents`` never alarms.
``alarms`` in the rule file (filter stages), ``dedup.alarms`` and ``semdedup.alarms`` set them per stage, over
built-in defaults; ``default`` covers the stages not named. A stage over its share is an alarm: with
``on_alarm: stop`` (the default) the job writes ``stats.json`` (with ``alarms``), leaves no ``_COMPLETE`` and
ends with one ``error:`` line naming the stage and the share; with ``on_alarm: warn`` it completes and prints a
warning. Every checked stage, alarm or not, is listed in ``stats.json`` and the filter's report.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from data_platform.schema import REASONS_BY_STAGE


class Expect(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_removed_share: float = Field(ge=0, le=1, description="of the documents reaching the stage")


class Alarms(BaseModel):
    """``on_alarm`` and the expectation of every stage (by drop reason); ``default`` for the stages not named."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    on_alarm: Literal["stop", "warn"] = "stop"
    min_documents: int = Field(100, ge=0, description="a stage reached by fewer documents never alarms (a share "
                                                      "of a handful says little)")
    default: Expect = Expect(max_removed_share=0.9)
    expect: dict[str, Expect] = {}

    def acting(self, on_alarm: str | None) -> Alarms:
        """These alarms with ``on_alarm`` replaced (a job's ``--on-alarm``); unchanged for None."""
        return self if on_alarm is None else self.model_copy(update={"on_alarm": on_alarm})

    def limit(self, stage: str) -> float:
        return self.expect.get(stage, self.default).max_removed_share

    def over(self, raw: Any) -> Any:
        """A rule file's ``alarms:`` mapping laid over these defaults: its ``expect`` entries add to or replace
        the defaults' one by one; anything that is not a mapping is left for validation to reject."""
        if not isinstance(raw, dict):
            return raw
        expect = raw.get("expect", {})
        merged_expect = {**self.model_dump()["expect"], **expect} if isinstance(expect, dict) else expect
        return {**self.model_dump(), **raw, "expect": merged_expect}

    def check_names(self, stages: list[str] | tuple[str, ...], defaults: Alarms) -> Alarms:
        """``self``, or ValueError when ``expect`` names a stage outside ``stages`` that the defaults do not name
        (a misspelt stage would never alarm)."""
        unknown = sorted(set(self.expect) - set(stages) - set(defaults.expect))
        if unknown:
            raise ValueError(f"alarms for unknown stages {unknown}; stages here: {', '.join(stages)}")
        return self


def _alarms(default: float, **shares: float) -> Alarms:
    return Alarms(default=Expect(max_removed_share=default),
                  expect={k: Expect(max_removed_share=v) for k, v in shares.items()})


# Defaults, generous enough for a raw crawl (FineWeb's per-dump MinHash removed up to ~90% of old dumps; an
# English-only langid drops most of a multilingual crawl) and far above what the bundled sample shows.
FILTER_DEFAULTS = _alarms(0.5, malformed_record=0.05, too_long=0.05, contaminated=0.05, langid=0.95)
DEDUP_DEFAULTS = _alarms(0.5, duplicate_exact=0.9, duplicate_minhash=0.9)
SEMANTIC_DEFAULTS = _alarms(0.6)


def _names_in(stages: tuple[str, ...], defaults: Alarms) -> Any:
    return lambda alarms: alarms.check_names(stages, defaults)


# The ``alarms`` field types of the rule file's sections: the file's mapping laid over the defaults, stage names
# checked (the filter's names need the file's rules: config.load_rules checks them).
FilterAlarms = Annotated[Alarms, BeforeValidator(FILTER_DEFAULTS.over)]
DedupAlarms = Annotated[Alarms, BeforeValidator(DEDUP_DEFAULTS.over),
                        AfterValidator(_names_in(REASONS_BY_STAGE["dedup"], DEDUP_DEFAULTS))]
SemanticAlarms = Annotated[Alarms, BeforeValidator(SEMANTIC_DEFAULTS.over),
                           AfterValidator(_names_in(REASONS_BY_STAGE["semantic"], SEMANTIC_DEFAULTS))]


class RemovalAlarm(RuntimeError):
    """A stage removed more than its expectation allows (reported to the user in one line)."""


def check(stats: dict[str, Any], stages: list[str], alarms: Alarms) -> list[dict[str, Any]]:
    """One entry per stage of ``stages`` in the stats' funnel: documents reaching it, removed, share, its limit and
    whether it is an alarm."""
    out = []
    for step in stats["funnel"]:
        if step["reason"] not in stages:
            continue
        reaching = step["documents_left"] + step["documents_dropped"]
        share = step["documents_dropped"] / reaching if reaching else 0.0
        limit = alarms.limit(step["reason"])
        out.append({"stage": step["reason"], "reaching": reaching, "removed": step["documents_dropped"],
                    "share": round(share, 6), "max_removed_share": limit,
                    "alarm": share > limit and reaching >= alarms.min_documents})
    return out


def message(entry: dict[str, Any]) -> str:
    return (f"stage {entry['stage']} removed {entry['share']:.1%} of the {entry['reaching']:,} documents reaching it "
            f"({entry['removed']:,}), above its alarm at {entry['max_removed_share']:.0%} (expect.max_removed_share)")


@dataclass(frozen=True)
class AlarmCheck:
    """What a job checks before it completes: the stages it decides and their alarms."""

    stages: list[str]
    alarms: Alarms

    def apply(self, stats: dict[str, Any]) -> list[str]:
        """``stats['alarms']`` filled in; the messages of the stages over their limits."""
        stats["alarms"] = {"on_alarm": self.alarms.on_alarm, "stages": check(stats, self.stages, self.alarms)}
        return [message(e) for e in stats["alarms"]["stages"] if e["alarm"]]

    def act(self, messages: list[str]) -> None:
        """Stop (raise :class:`RemovalAlarm`) or warn on stderr; called after ``stats.json`` is written."""
        if messages and self.alarms.on_alarm == "stop":
            more = f" (and {len(messages) - 1} more in stats.json)" if len(messages) > 1 else ""
            raise RemovalAlarm(messages[0] + more + "; no _COMPLETE written (on_alarm: warn lets the job finish)")
        for m in messages:
            sys.stderr.write(f"warning: {m}\n")
