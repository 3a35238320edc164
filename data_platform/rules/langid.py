"""Language identification rule: the top fastText language, its probability (summed over its group of close
languages), an allowed-language check.

Prediction runs once per batch before the funnel groups documents by language (``funnel.py``), because the
detected language decides which per-language thresholds apply; this rule then judges the stored prediction.

A group (``groups: [[nb, nn, no, da], [id, ms], ...]``) names languages the model splits its probability
between: a document's value is then the summed probability of its top label's group, ``lang`` stays the top
label, and ``allowed`` accepts a document whose top label or group holds an allowed language.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BeforeValidator, Field, field_validator

from data_platform.langcodes import normalize_lang
from data_platform.models.fasttext_langid import BUNDLED, resolve_model_path
from data_platform.models.shipping import ExecutorFile
from data_platform.rules.base import DocBatch, RatioParams, Scores, rule

Prediction = list[tuple[str, float]]


def _codes(codes: list[str]) -> list[str]:
    """Every code normalised as model labels are (``nb`` -> ``no``); a blank one is an error."""
    out = []
    for code in codes:
        norm = normalize_lang(code)
        if norm is None:
            raise ValueError(f"{code!r} is not a language code")
        out.append(norm)
    return out


def _no_booleans(codes: Any) -> Any:
    """YAML 1.1 reads an unquoted ``no`` (Norwegian) as false: say so instead of 'not a valid string'."""
    if isinstance(codes, list) and any(isinstance(c, bool) for c in codes):
        raise ValueError("write Norwegian as 'no' in quotes (or nb): YAML reads an unquoted no as false")
    return codes


def _two_languages(group: list[str]) -> list[str]:
    if len(set(_codes(group))) < 2:
        raise ValueError(f"a group needs two or more different languages, got {group} "
                         "(codes are normalised: nb, nn and no are all 'no')")
    return group


class LangidParams(RatioParams):
    global_only: ClassVar[tuple[str, ...]] = ("model", "top_k", "assign_lang", "groups")
    model: str = Field(BUNDLED, description="'bundled:lid.176.ftz' or a fastText model path (lid.176.bin ...)")
    top_k: int = Field(3, ge=1, le=10, description="labels kept in the rule detail")
    allowed: Annotated[list[str] | None, BeforeValidator(_no_booleans)] = Field(
        None, description="languages accepted for this source (or their group); None = any")
    assign_lang: bool = Field(True, description="fill the document's lang column with the detected language")
    groups: list[Annotated[list[str], BeforeValidator(_no_booleans), AfterValidator(_two_languages)]] = Field(
        [], description="close languages the model confuses: min applies to the summed probability of the top "
        "label's group, allowed matches any member; a language belongs to one group")

    @field_validator("allowed")
    @classmethod
    def _normalised(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else _codes(v)

    @field_validator("groups")
    @classmethod
    def _disjoint(cls, v: list[list[str]]) -> list[list[str]]:
        seen: dict[str, int] = {}
        for i, group in enumerate(v):
            for code, norm in zip(group, _codes(group), strict=True):
                if seen.setdefault(norm, i) != i:
                    raise ValueError(f"{code!r} is in groups[{seen[norm]}] and groups[{i}]; a language belongs to "
                                     "one group (codes are normalised: nb, nn and no are all 'no')")
        return v


def prediction_depth(params: LangidParams) -> int:
    """Labels to predict per document: ``top_k``, raised so that every other member of the largest group is
    seen unless ``top_k`` languages outside the group outrank it (with no groups, just ``top_k``)."""
    largest = max((len(set(_codes(g))) for g in params.groups), default=1)
    return params.top_k + largest - 1


def load_model(params: list[LangidParams], base: Path) -> dict[str, Any]:
    """The fastText model file and the prediction settings the funnel's language detection uses (one set: its
    parameters are global-only)."""
    p = params[0]
    return {"path": ExecutorFile(resolve_model_path(p.model, base)), "top_k": prediction_depth(p),
            "assign_lang": p.assign_lang}


Group = tuple[str, frozenset[str]]  # a group as written in the rule file ("nb/nn/no/da") and its normalised members


def group_index(groups: list[list[str]]) -> dict[str, Group]:
    """Each normalised member -> its group: the name as written and the normalised members."""
    index = {}
    for group in groups:
        members = frozenset(_codes(group))
        index.update(dict.fromkeys(members, ("/".join(group), members)))
    return index


def group_members(lang: str, groups: dict[str, Group]) -> frozenset[str]:
    """The normalised members of ``lang``'s group (``group_index``), or ``lang`` alone."""
    return groups[lang][1] if lang in groups else frozenset({lang})


def _judge(pred: Prediction, groups: dict[str, Group], allowed: set[str], top_k: int) -> tuple[float, str, bool]:
    """One document's value (the top probability, or its group's sum), detail and allowed-language failure."""
    lang, score = pred[0] if pred else ("und", 0.0)
    detail = " ".join(f"{code}:{p:.2f}" for code, p in pred[:top_k])
    group = groups.get(lang)
    members = group_members(lang, groups)
    if group:
        seen = [(code, p) for code, p in pred if code in members]
        score = sum(p for _, p in seen)
        detail += f"; group {group[0]}: {score:.2f} (" + " ".join(f"{c}:{p:.2f}" for c, p in seen) + ")"
    off = bool(allowed) and not members & allowed
    if off:
        detail += f"; {lang!r}" + (" and its group" if group else "") + f" not in allowed {sorted(allowed)}"
    return score, detail, off


@rule("langid", LangidParams, load=load_model)
def langid(batch: DocBatch, params: LangidParams) -> Scores:
    """Probability of the top fastText language or of its group of close languages; fails below min, off allowed."""
    preds = batch.langid or [[] for _ in range(len(batch))]
    groups, allowed = group_index(params.groups), set(params.allowed or [])
    judged = [_judge(pred, groups, allowed, params.top_k) for pred in preds]
    return Scores([v for v, _, _ in judged], [d for _, d, _ in judged], [f for _, _, f in judged])
