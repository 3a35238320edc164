"""The trainer's monitoring, spike rollback, document masking, staged mixtures, ramp-up, groups in one batch,
continued pretraining from a Hugging Face checkpoint and special tokens by name, on CPU."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import trainer.train as train_module
from tests.trainer_helpers import config, curve, records
from trainer import tokenizer as T
from trainer.data import TokenData
from trainer.inputs import InputError
from trainer.loader import BatchPlan, Prefetcher, step_batch
from trainer.mixture import MixtureSampler
from trainer.model import DocumentMask, ModelArgs, Transformer
from trainer.pack import pack
from trainer.train import TrainingError, train

pytestmark = pytest.mark.usefixtures("one_torch_thread")
ARGS = ModelArgs(vocab_size=50, dim=32, n_layers=2, n_heads=4, n_kv_heads=2, ffn_hidden=64, max_seq_len=64)


def _rows(out, kind):
    return [r for r in records(out) if r["kind"] == kind]


def test_per_channel_train_losses_add_up_to_the_logged_loss(trainer_tokens, tmp_path):
    result = train(config(trainer_tokens, tmp_path / "run", "log.every=4", "eval.every=0"))
    rows = _rows(tmp_path / "run", "train")
    assert [r["step"] for r in rows] == [4, 8]
    for r in rows:
        tokens = {k.split("/")[1]: v for k, v in r.items() if k.startswith("train_tokens/")}
        losses = {k.split("/")[1]: v for k, v in r.items() if k.startswith("train_loss/")}
        assert set(tokens) == set(losses) and len(tokens) >= 6
        weighted = sum(losses[c] * tokens[c] for c in tokens) / sum(tokens.values())
        assert weighted == pytest.approx(r["train_loss"], rel=1e-9)
        assert 4 * 2 * 4 * 32 - 32 <= sum(tokens.values()) <= 4 * 2 * 4 * 32  # 4 steps x 8 rows x 32 targets
    assert result["train_loss"] == rows[-1]["train_loss"]


def test_layer_norms_make_up_the_global_grad_norm(trainer_tokens, tmp_path):
    train(config(trainer_tokens, tmp_path / "run", "run.steps=3", "eval.every=0", "optim.grad_clip=0.5"))
    train_rows, norm_rows = _rows(tmp_path / "run", "train"), _rows(tmp_path / "run", "norms")
    assert [r["step"] for r in norm_rows] == [1, 2, 3]
    for t, n in zip(train_rows, norm_rows, strict=True):
        grads = [v for k, v in n.items() if k.startswith("grad_norm/")]
        assert sorted(k.split("/")[1] for k in n if k.startswith("param_norm/")) == ["embed", "layers.00",
                                                                                     "layers.01", "norm"]
        assert math.sqrt(sum(g * g for g in grads)) == pytest.approx(t["grad_norm"], rel=1e-5)  # before clipping
        assert n["param_norm/norm"] == pytest.approx(math.sqrt(64), rel=0.05)  # RMSNorm weights start at 1


def _spike_at(monkeypatch, call: int, value: float) -> list[int]:
    """Make the ``call``-th optimizer step (1-based, counted over the run) report ``value`` times its loss."""
    calls = [0]
    real = train_module.optimizer_step

    def step(*args, **kwargs):
        result = real(*args, **kwargs)
        calls[0] += 1
        if calls[0] == call:
            result.loss = result.loss * value
        return result

    monkeypatch.setattr(train_module, "optimizer_step", step)
    return calls


def test_a_spike_rolls_back_and_equals_a_run_that_skipped_those_batches(trainer_tokens, tmp_path, monkeypatch):
    base = ("run.steps=10", "log.spike_window=3", "eval.every=5", "checkpoint.every=4", "checkpoint.keep=3")
    calls = _spike_at(monkeypatch, 7, 50.0)
    rolled = train(config(trainer_tokens, tmp_path / "rolled", *base, "log.spike_rollback=true"))
    assert calls[0] == 13  # 7 steps, back to step 4, then 6 more
    assert rolled["rollbacks"] == [{"from_step": 7, "to_step": 4, "cause": "loss spike",
                                    "value": pytest.approx(rolled["rollbacks"][0]["value"]),
                                    "skip_batches": [4, 7]}]
    assert [s["step"] for s in rolled["spikes"]] == [7]
    monkeypatch.undo()
    skipped = train(config(trainer_tokens, tmp_path / "skipped", *base, "data.skip_batches=[[4, 7]]"))
    assert curve(tmp_path / "rolled") == curve(tmp_path / "skipped")
    assert [s for s, _ in curve(tmp_path / "rolled")] == list(range(1, 11))
    assert curve(tmp_path / "rolled", "eval", "loss") == curve(tmp_path / "skipped", "eval", "loss")
    assert rolled["eval"] == skipped["eval"] and rolled["tokens"] == skipped["tokens"]
    assert _rows(tmp_path / "rolled", "rollback")[0] | {"value": 0} == {
        "kind": "rollback", "step": 4, "from_step": 7, "to_step": 4, "cause": "loss spike", "value": 0,
        "skip_from": 4, "skip_to": 7}
    plain = train(config(trainer_tokens, tmp_path / "plain", *base))
    assert plain["eval"] != skipped["eval"]  # the skip changed what was trained on


def test_a_non_finite_loss_stops_the_run_without_rollback(trainer_tokens, tmp_path, monkeypatch):
    _spike_at(monkeypatch, 3, float("nan"))
    with pytest.raises(TrainingError, match="non-finite loss or grad norm at step 3 .log.spike_rollback is off"):
        train(config(trainer_tokens, tmp_path / "nan", "run.steps=5", "eval.every=0"))


def _packed_and_separate(mask_flex: bool) -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    model = Transformer(ARGS).eval()
    eos = 1
    a, b = torch.randint(3, 50, (11,)).tolist(), torch.randint(3, 50, (7,)).tolist()
    stream = [eos, *a, eos, *b, eos]
    x, y = torch.tensor([stream[:-1]]), torch.tensor([stream[1:]])
    with torch.no_grad():
        packed = model(x, y, reduction="sum", mask=DocumentMask(eos, flex=mask_flex)(x))
        alone = sum(model(torch.tensor([[eos, *d]]), torch.tensor([[*d, eos]]), reduction="sum") for d in (a, b))
        causal = model(x, y, reduction="sum")
    assert abs(causal - alone) > 1e-3  # without the mask the second document sees the first
    return packed, alone


def test_document_masking_scores_packed_documents_as_if_alone():
    packed, alone = _packed_and_separate(mask_flex=False)
    assert packed == pytest.approx(float(alone), rel=1e-5)


def test_flex_block_mask_equals_the_dense_mask():
    pytest.importorskip("torch.nn.attention.flex_attention")
    packed, alone = _packed_and_separate(mask_flex=True)
    assert packed == pytest.approx(float(alone), rel=1e-4)


def test_per_token_losses_and_log_partition():
    torch.manual_seed(1)
    model = Transformer(ARGS)
    x, y = torch.randint(0, 50, (2, 9)), torch.randint(0, 50, (2, 9))
    y[1, 5:] = -100
    ce, lse = model(x, y, reduction="none")
    logits = model(x).float()
    assert torch.allclose(ce.sum(), F.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="sum"), rtol=1e-5)
    assert torch.allclose(lse[0], torch.logsumexp(logits[0], -1)) and (lse[1, 5:] == 0).all()


def test_document_masking_and_z_loss_train(trainer_tokens, tmp_path):
    result = train(config(trainer_tokens, tmp_path / "doc", "data.document_masking=true", "optim.z_loss=1e-4"))
    first = curve(tmp_path / "doc")[0][1]
    assert result["eval"]["overall"]["loss"] < first - 0.3  # it learns (the first step's loss is ~ln 300 + 0.5)


def test_a_staged_mixture_and_a_ramp_reach_the_run(trainer_tokens, tmp_path):
    cfg = config(trainer_tokens, tmp_path / "staged", "run.steps=6", "eval.every=0", "data.grad_accum=3",
                 "data.ramp_steps=3", "data.stages=[{start: 4, weights: {en: 1, zh: 1}}]")
    assert [cfg.data.accum_at(s) for s in range(1, 7)] == [1, 2, 3, 3, 3, 3]
    result = train(cfg)
    rows = _rows(tmp_path / "staged", "train")
    channels = [{k.split("/")[1] for k in r if k.startswith("train_tokens/")} for r in rows]
    assert all(len(c) > 2 for c in channels[:3]) and all(c == {"en", "zh"} for c in channels[3:])
    assert [sum(v for k, v in r.items() if k.startswith("train_tokens/")) for r in rows[3:]] == [3 * 4 * 32] * 3
    assert result["tokens"] == (1 + 2 + 3 + 3 + 3 + 3) * 4 * 32
    assert [s["start"] for s in result["stages"]] == [1, 4] and result["stages"][1]["mixture"] == {"en": 0.5,
                                                                                                  "zh": 0.5}


def test_prefetched_batches_equal_batches_made_in_line(trainer_tokens):
    data = TokenData(trainer_tokens)
    streams = data.streams("train")
    sizes = {c: s.n_sequences(16) for c, s in streams.items()}
    stages = [(1, {c: 1 / len(sizes) for c in sizes})]
    plan = BatchPlan(16, 2, lambda step: 2, ((1, 3),), rank=1, world=2)
    inline, batches, expected = MixtureSampler(sizes, stages, 0), 0, []
    for step in range(1, 6):
        item = step_batch(streams, inline, plan, step, batches, pin=False)
        batches = item.batches
        expected.append(item)
    assert [e.batches for e in expected] == [1, 4, 5, 6, 7]  # batches 1 and 2 drawn and skipped
    loader = Prefetcher(streams, MixtureSampler(sizes, stages, 0), plan, 0, 5, 0, pin=False, depth=1)
    got = [loader.next() for _ in range(5)]
    loader.close()
    for g, e in zip(got, expected, strict=True):
        assert g.sampler == e.sampler and all(torch.equal(a, b) for m, n in zip(g.micro, e.micro, strict=True)
                                              for a, b in zip(m, n, strict=True))
    assert got[0].micro[0][0].shape == (2, 16)  # rank 1's 2 rows of the 4 per micro-batch


def test_the_hang_watchdog_prints_stacks_and_exits():
    script = ("import time\nfrom trainer.monitor import Watchdog\nw = Watchdog(1.0)\nw.arm()\n"
              "def stuck_in_a_collective():\n    time.sleep(30)\nstuck_in_a_collective()\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "stuck_in_a_collective" in done.stderr and "Timeout" in done.stderr


def _llama3_style_tokenizer(path):
    """A byte-level BPE whose special tokens are spelled as Llama 3 spells them (no pad token)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<|begin_of_text|>", "<|end_of_text|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(["some text to learn merges from", "more text"] * 20, trainer)
    tok.save(str(path))
    return tok


def test_special_tokens_by_configured_names(trainer_corpus, tmp_path):
    tok = _llama3_style_tokenizer(tmp_path / "tokenizer.json")
    kept = [str(trainer_corpus["root"] / "kept")]
    with pytest.raises(InputError, match=r"no token '<\|eos\|>' \(the eos token\); its special tokens: "
                                         r"<\|begin_of_text\|>, <\|end_of_text\|>"):
        pack(kept, str(tmp_path / "tokenizer.json"), tmp_path / "default", heldout_docs=0, workers=1)
    names = T.SpecialTokens(eos="<|end_of_text|>", pad=None, bos="<|begin_of_text|>")
    index = pack(kept, str(tmp_path / "tokenizer.json"), tmp_path / "llama", heldout_docs=0, workers=1,
                 specials=names)
    eos = tok.token_to_id("<|end_of_text|>")
    assert index["special_ids"] == {"eos": eos, "pad": eos, "bos": tok.token_to_id("<|begin_of_text|>")}
    data = TokenData(tmp_path / "llama")
    ends = sum(int((s.tokens(0, s.n_tokens) == eos).sum()) for s in data.streams("train").values())
    assert ends == len(trainer_corpus["docs"]) and data.eos_id == eos == data.pad_id
    cfg = config(tmp_path / "llama", tmp_path / "run", "data.special_tokens={eos: '<|end_of_text|>', pad: null}")
    assert cfg.data.special_tokens == T.SpecialTokens("<|end_of_text|>", None, T.BOS)


def _hf_llama(folder, tie: bool, vocab: int = 61):
    transformers = pytest.importorskip("transformers")
    hf_cfg = transformers.LlamaConfig(vocab_size=vocab, hidden_size=32, intermediate_size=80, num_hidden_layers=2,
                                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=48,
                                      rms_norm_eps=1e-5, rope_theta=500000.0, tie_word_embeddings=tie)
    torch.manual_seed(3)
    hf = transformers.LlamaForCausalLM(hf_cfg).eval()
    with torch.no_grad():  # RMSNorm weights start at 1; make them count
        for name, p in hf.named_parameters():
            if "norm" in name:
                p.mul_(torch.rand_like(p) + 0.5)
    hf.save_pretrained(folder, safe_serialization=True)
    return hf


@pytest.mark.parametrize("tie", [False, True])
def test_a_hugging_face_llama_checkpoint_reproduces_its_logits(tmp_path, tie):
    from trainer.hf_checkpoint import load_into, model_args

    hf = _hf_llama(tmp_path / "llama", tie)
    args = model_args(tmp_path / "llama")
    assert (args.dim, args.n_kv_heads, args.hidden, args.rope_theta, args.tie_embeddings) == (32, 2, 80, 5e5, tie)
    ours = Transformer(args).eval()
    load_into(ours, tmp_path / "llama")
    x = torch.randint(0, 61, (2, 40))
    with torch.no_grad():
        assert torch.allclose(ours(x), hf(x).logits, atol=1e-4)


def test_continued_pretraining_starts_from_the_checkpoint(trainer_tokens, tmp_path, capsys):
    from trainer.hf_checkpoint import CheckpointError, main
    from trainer.score import load_run

    hf = _hf_llama(tmp_path / "llama", tie=True, vocab=300)
    assert main(["model-section", str(tmp_path / "llama")]) == 0
    section = capsys.readouterr().out
    assert "vocab_size: 300" in section and "n_kv_heads: 2" in section and "rope_theta: 500000.0" in section
    with pytest.raises(CheckpointError, match=r"vocab_size 512 \(checkpoint 300\); dim 64 \(checkpoint 32\)"):
        train(config(trainer_tokens, tmp_path / "bad", f"run.init_from={tmp_path / 'llama'}"))
    model = ("model.vocab_size=300", "model.dim=32", "model.n_heads=4", "model.n_kv_heads=2", "model.ffn_hidden=80",
             "model.rope_theta=500000.0", "model.max_seq_len=48")
    train(config(trainer_tokens, tmp_path / "cont", *model, f"run.init_from={tmp_path / 'llama'}", "run.steps=1",
                 "optim.lr=1e-30", "eval.every=0"))
    _, ours, _ = load_run(tmp_path / "cont")  # the weights after one step at a learning rate of ~0
    x = torch.randint(0, 300, (2, 32))
    with torch.no_grad():
        assert torch.allclose(ours.eval()(x), hf(x).logits, atol=1e-4)


def test_a_group_stays_in_one_global_batch(trainer_corpus, tmp_path):
    """Repositories of 1-5 files in the code channel: packed together, read unit by unit, each unit in one batch."""
    import random

    import pyarrow as pa
    import pyarrow.parquet as pq

    from trainer.mixture import mixture_probs

    rng = random.Random(0)
    words = " ".join(trainer_corpus["docs"]["text"][:40]).split()
    rows = [{"id": f"code-{r}-{f}", "source": "code", "repo": f"repo{r}",
             "text": " ".join(rng.choices(words, k=rng.randint(5, 25)))} for r in range(12) for f in range(r % 5 + 1)]
    rows += [{"id": f"web-{d}", "source": "web", "repo": None, "text": " ".join(rng.choices(words, k=40))}
             for d in range(150)]
    rng.shuffle(rows)
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "docs.parquet")
    pack([str(tmp_path / "docs.parquet")], trainer_corpus["tokenizer"], tmp_path / "tok", channel="source",
         heldout_docs=0, workers=1, group="repo")
    streams = TokenData(tmp_path / "tok").streams("train")
    code, t, n = streams["code"], 32, 64
    assert len(code.group_spans) == 12 and streams["web"].units(t) is None
    units = code.units(t)
    sizes = {c: s.n_sequences(t) for c, s in streams.items()}
    lengths = dict(zip(units.tolist(), np.diff(np.append(units, sizes["code"])).tolist(), strict=True))
    assert max(lengths.values()) > 4  # repositories span several sequences
    probs = mixture_probs(sizes, {"code": 0.3, "web": 0.7}, {})
    sampler = MixtureSampler(sizes, [(1, probs)], seed=0, units={"code": units})
    batches = [sampler.take(n, b + 1) for b in range(80)]
    assert {len(batch) for batch in batches} == {n}
    picks = [(b, i) for b, batch in enumerate(batches) for c, i in batch if c == "code"]
    k = 0
    while k < len(picks):  # the channel's read order: whole units, each inside one batch
        batch, first = picks[k]
        assert first in lengths, f"pick {k} starts mid-unit"
        run = picks[k:k + lengths[first]]
        assert [i for _, i in run] == list(range(first, first + lengths[first])) or k + len(run) == len(picks)
        assert {b for b, _ in run} == {batch}
        k += lengths[first]
    assert max(lengths.values()) <= n and len(picks) / (80 * n) == pytest.approx(0.3, abs=0.01)  # share over batches


def test_a_checkpoint_of_the_earlier_trainer_resumes():
    from trainer.monitor import SpikeDetector
    from trainer.train import RunState

    sampler = MixtureSampler({"a": 10, "b": 5}, [(1, {"a": 0.5, "b": 0.5})], seed=0)
    state = RunState(sampler, SpikeDetector(2.0, 3), SpikeDetector(5.0, 3))
    state.load_state_dict({"step": 7, "tokens": 70, "spikes": {"recent": [1.0], "spikes": []},
                           "sampler": {"position": 14, "counts": [7, 7], "channels": ["a", "b"]}})
    assert (state.step, state.batches, state.skips, state.rollbacks) == (7, 7, [], [])
    assert sampler.stage == 0 and sampler.stage_counts.tolist() == [7, 7] and len(sampler.take(4, 8)) == 4


def test_a_ramp_up_counts_its_smaller_steps_in_token_budgets(trainer_tokens, tmp_path):
    from trainer.ablate import steps_for

    cfg = config(trainer_tokens, tmp_path, "data.grad_accum=3", "data.ramp_steps=3")  # 128, 256, 384, 384 ... tokens
    assert [cfg.tokens_through(s, 1) for s in (0, 1, 3, 5)] == [0, 128, 768, 1536]
    assert [cfg.steps_covering(t, 1) for t in (700, 768, 1000)] == [3, 3, 4]
    assert [cfg.steps_covering(t, 1, within=True) for t in (700, 768, 1000)] == [2, 3, 3]
    assert steps_for(1000, cfg, 1) == 4 and steps_for(1000, config(trainer_tokens, tmp_path), 1) == 4  # 256 a step


def test_a_failing_batch_is_raised_in_the_training_loop_and_close_returns(trainer_tokens):
    streams = TokenData(trainer_tokens).streams("train")
    sizes = {c: s.n_sequences(16) for c, s in streams.items()}

    def accum_at(step):
        if step == 3:
            raise OSError("disk gone")
        return 1

    plan = BatchPlan(16, 2, accum_at, ())
    loader = Prefetcher(streams, MixtureSampler(sizes, [(1, {"en": 1.0})], 0), plan, 0, 9, 0, pin=False, depth=1)
    assert [loader.next().step for _ in range(2)] == [1, 2]
    with pytest.raises(OSError, match="disk gone"):
        loader.next()
    loader.close()
    stuck = Prefetcher(streams, MixtureSampler(sizes, [(1, {"en": 1.0})], 0), BatchPlan(16, 2, lambda s: 1, ()),
                       0, 50, 0, pin=False, depth=1)
    stuck.close()  # its thread waits on a full queue: close must not hang
    assert not stuck._thread.is_alive()
