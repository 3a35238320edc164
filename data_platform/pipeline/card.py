"""The dataset card (``README.md`` next to ``manifest.json``): recipe, inputs, per-stage counts, licences."""

from __future__ import annotations

from typing import Any

from data_platform.pipeline.recipe import Recipe


def _row(cells: list[Any]) -> str:
    return "| " + " | ".join(f"{c:,}" if isinstance(c, int) else str(c) for c in cells) + " |"


def _table(headers: list[str], rows: list[list[Any]]) -> list[str]:
    return [_row(headers), "|" + "---|" * len(headers), *(_row(r) for r in rows)]


def build(recipe: Recipe, stats: dict[str, Any], manifest: dict[str, Any]) -> str:
    v, t = manifest["version"], manifest["totals"]
    lines = [f"# Dataset `{recipe.name}` — version `{v['id']}`", ""]
    if recipe.spec.description:
        lines += [recipe.spec.description.strip(), ""]
    lines += [f"{t['documents']:,} documents, {t['characters']:,} characters in {t['shards']} parquet shards "
              f"({t['bytes']:,} bytes); columns: {', '.join(manifest['columns'])}.", "",
              "## Version", "",
              f"- recipe: `{recipe.path}` (sha256 of its stages' configuration and referenced files: "
              f"`{v['recipe_sha256']}`)",
              f"- input fingerprint ({stats['inputs']['fingerprint']['mode']}): `{v['input_sha256']}` over "
              f"{len(stats['inputs']['fingerprint']['files'])} files under {', '.join(stats['inputs']['paths'])}",
              "", "## Stages", ""]
    lines += _table(["stage", "kind", "documents in", "kept", "dropped", "characters in", "characters kept",
                     "drop reasons"],
                    [[s["name"], s["kind"], s["documents_in"], s["documents_out"], s["documents_dropped"],
                      s["characters_in"], s["characters_out"],
                      ", ".join(f"{r} {d['documents']}" for r, d in s["dropped_by_reason"].items()) or "—"]
                     for s in stats["stages"]])
    for title, key in (("Per source", "by_source"), ("Per language", "by_lang")):
        lines += ["", f"## {title}", ""]
        lines += _table([key[3:], "shards", "documents", "characters"],
                        [[name, e["shards"], e["documents"], e["characters"]] for name, e in manifest[key].items()])
    card = recipe.spec.card
    lines += ["", "## Licences and notes", ""]
    lines += [f"- {entry}" for entry in card.licences] or ["- (none given in the recipe)"]
    if card.notes:
        lines += ["", card.notes.strip()]
    lines += ["", "## Reading", "", "`manifest.json` lists every shard (path relative to this folder, source, "
              "language, documents, characters, bytes, sha256); the shards are plain parquet files sorted by id.", ""]
    return "\n".join(lines)
