"""Continued pretraining: a Hugging Face LLaMA checkpoint folder (``config.json`` + safetensors) as the starting
weights of ``trainer.model.Transformer``.

The folder is what ``LlamaForCausalLM.save_pretrained`` writes: ``model.safetensors`` or shards listed in
``model.safetensors.index.json``. Hugging Face stores q/k/v and gate/up as separate matrices; this model keeps them
fused (``qkv``, ``gate_up``), so they are concatenated in that order. Both use the rotate-half RoPE layout, so no
permutation is needed. Settings this model does not implement (RoPE scaling, attention or MLP biases, a head size
other than ``hidden_size / num_attention_heads``) are refused, never silently dropped.

    python -m trainer.hf_checkpoint model-section path/to/llama   # the training config's model: section
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, fields
from pathlib import Path

import torch

from trainer.model import ModelArgs, Transformer

CONFIG, SINGLE, SHARDED = "config.json", "model.safetensors", "model.safetensors.index.json"
# ModelArgs field <- Hugging Face LlamaConfig key
ARGS = {"vocab_size": "vocab_size", "dim": "hidden_size", "n_layers": "num_hidden_layers",
        "n_heads": "num_attention_heads", "n_kv_heads": "num_key_value_heads", "ffn_hidden": "intermediate_size",
        "norm_eps": "rms_norm_eps", "rope_theta": "rope_theta", "max_seq_len": "max_position_embeddings",
        "tie_embeddings": "tie_word_embeddings"}


class CheckpointError(ValueError):
    """The folder is not a LLaMA checkpoint this model can start from, or does not match the config."""


def read_config(folder: str | Path) -> dict:
    path = Path(folder) / CONFIG
    if not path.is_file():
        raise CheckpointError(f"{folder}: no {CONFIG} (a Hugging Face checkpoint folder holds config.json and "
                              "model.safetensors)")
    hf = json.loads(path.read_text(encoding="utf-8"))
    if hf.get("model_type") not in ("llama", None):
        raise CheckpointError(f"{path}: model_type {hf.get('model_type')!r}, not a LLaMA checkpoint")
    rope = hf.get("rope_parameters") or {}  # transformers 5 keeps rope_theta and the RoPE type here
    if "rope_theta" in rope:
        hf["rope_theta"] = rope["rope_theta"]
    unsupported = {"rope_scaling": None, "attention_bias": False, "mlp_bias": False, "hidden_act": "silu"}
    if rope.get("rope_type", "default") != "default":
        unsupported["rope_parameters"] = None
    for key, plain in unsupported.items():
        if hf.get(key, plain) != plain:
            raise CheckpointError(f"{path}: {key}={hf[key]!r} is not implemented by trainer.model")
    if hf.get("head_dim") not in (None, hf["hidden_size"] // hf["num_attention_heads"]):
        raise CheckpointError(f"{path}: head_dim {hf['head_dim']} differs from hidden_size / num_attention_heads")
    return hf


def model_args(folder: str | Path) -> ModelArgs:
    """The architecture of the checkpoint, as this model's arguments."""
    hf = read_config(folder)
    values = {ours: hf[theirs] for ours, theirs in ARGS.items() if theirs in hf}
    values.setdefault("n_kv_heads", values["n_heads"])  # LlamaConfig: no num_key_value_heads = multi-head
    return ModelArgs(**values)


def check_matches(folder: str | Path, args: ModelArgs) -> None:
    """Refuse a ``model:`` section that differs from the checkpoint (``max_seq_len`` may be shorter)."""
    theirs = model_args(folder)
    diff = [f"{f.name} {getattr(args, f.name)} (checkpoint {getattr(theirs, f.name)})" for f in fields(ModelArgs)
            if f.name in ARGS and f.name != "max_seq_len" and getattr(args, f.name) != getattr(theirs, f.name)]
    if args.hidden != theirs.hidden:
        diff.append(f"ffn hidden {args.hidden} (checkpoint {theirs.hidden})")
    if args.max_seq_len > theirs.max_seq_len:
        diff.append(f"max_seq_len {args.max_seq_len} (checkpoint {theirs.max_seq_len})")
    if diff:
        raise CheckpointError(f"{folder}: the model section differs from the checkpoint: {'; '.join(diff)} "
                              f"(python -m trainer.hf_checkpoint model-section {folder})")


def _tensors(folder: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    if (folder / SHARDED).is_file():
        shards = sorted(set(json.loads((folder / SHARDED).read_text())["weight_map"].values()))
        return {k: v for name in shards for k, v in load_file(folder / name).items()}
    if (folder / SINGLE).is_file():
        return load_file(folder / SINGLE)
    raise CheckpointError(f"{folder}: no {SINGLE} or {SHARDED}")


def state_dict(folder: str | Path, args: ModelArgs) -> dict[str, torch.Tensor]:
    """The checkpoint's weights under this model's names (fused q/k/v and gate/up)."""
    hf = _tensors(Path(folder))
    out = {"embed.weight": hf.pop("model.embed_tokens.weight"), "norm.weight": hf.pop("model.norm.weight")}
    for i in range(args.n_layers):
        p = f"model.layers.{i}."
        out[f"layers.{i}.attn.qkv.weight"] = torch.cat([hf.pop(p + f"self_attn.{x}_proj.weight") for x in "qkv"])
        out[f"layers.{i}.attn.out.weight"] = hf.pop(p + "self_attn.o_proj.weight")
        out[f"layers.{i}.mlp.gate_up.weight"] = torch.cat([hf.pop(p + "mlp.gate_proj.weight"),
                                                           hf.pop(p + "mlp.up_proj.weight")])
        out[f"layers.{i}.mlp.down.weight"] = hf.pop(p + "mlp.down_proj.weight")
        out[f"layers.{i}.attn_norm.weight"] = hf.pop(p + "input_layernorm.weight")
        out[f"layers.{i}.mlp_norm.weight"] = hf.pop(p + "post_attention_layernorm.weight")
    head = hf.pop("lm_head.weight", None)
    if not args.tie_embeddings:
        if head is None:
            raise CheckpointError(f"{folder}: no lm_head.weight and tie_word_embeddings is false")
        out["head.weight"] = head
    leftover = sorted(k for k in hf if not k.endswith("rotary_emb.inv_freq"))
    if leftover:
        raise CheckpointError(f"{folder}: weights this model has no place for: {', '.join(leftover[:5])}")
    return out


def load_into(model: Transformer, folder: str | Path) -> None:
    """Copy the checkpoint's weights into ``model`` (built with matching arguments)."""
    check_matches(folder, model.args)
    weights = state_dict(folder, model.args)
    try:
        missing, unexpected = model.load_state_dict(weights, strict=False)
    except RuntimeError as err:  # shape mismatches
        raise CheckpointError(f"{folder}: {err}") from None
    missing = [k for k in missing if not (model.args.tie_embeddings and k == "head.weight")]
    if missing or unexpected:
        raise CheckpointError(f"{folder}: missing {missing[:5]}, unexpected {unexpected[:5]}")


EXAMPLES = """examples (dp-hf-checkpoint is the same command as python -m trainer.hf_checkpoint):
  dp-hf-checkpoint model-section models/SmolLM2-135M > model.yaml   # then run.init_from: models/SmolLM2-135M
"""


def main(argv: list[str] | None = None) -> int:
    import yaml

    from data_platform.cli import error

    p = argparse.ArgumentParser(prog="python -m trainer.hf_checkpoint", description=__doc__.splitlines()[0],
                                epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("model-section", help="print the model: section matching a checkpoint").add_argument("folder")
    args = p.parse_args(argv)
    try:
        section = asdict(model_args(args.folder))
    except (CheckpointError, KeyError, OSError) as err:
        return error(err if not isinstance(err, KeyError) else f"{args.folder}: config.json lacks {err}")
    print(yaml.safe_dump({"model": section}, sort_keys=False), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
