"""The trainer's model, sizing, schedules, spike detection and mixture sampler (no data files, no Accelerate)."""

from __future__ import annotations

import collections
import math

import pytest
import torch

from tests.conftest import REPO
from trainer.config import ScheduleConfig, load_config
from trainer.flops import flops_per_token, kv_cache_bytes, param_count
from trainer.mixture import MixtureError, MixtureSampler, mixture_probs
from trainer.model import ModelArgs, Transformer, count_params
from trainer.monitor import SpikeDetector
from trainer.train import lr_at

TINY = ModelArgs(vocab_size=64, dim=32, n_layers=2, n_heads=4, n_kv_heads=2, ffn_hidden=64, max_seq_len=32)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_tiny_model_overfits_a_batch():
    torch.manual_seed(0)
    model = Transformer(TINY)
    x = torch.randint(0, 64, (4, 17))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    first = None
    for _ in range(80):
        loss = model(x[:, :-1], x[:, 1:])
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert first > 3.5 and loss.item() < 0.1


def test_attention_is_causal():
    torch.manual_seed(0)
    model = Transformer(TINY).eval()
    x = torch.randint(0, 64, (1, 12))
    y = x.clone()
    y[0, 8:] = (y[0, 8:] + 1) % 64
    with torch.no_grad():
        a, b = model(x), model(y)
    assert torch.allclose(a[0, :8], b[0, :8], atol=1e-6) and not torch.allclose(a[0, 8:], b[0, 8:])


@pytest.mark.parametrize("args", [
    TINY,
    ModelArgs(vocab_size=100, dim=48, n_layers=3, n_heads=6, n_kv_heads=6, tie_embeddings=False),
    load_config(REPO / "trainer/configs/llama125m.yaml").model,
    load_config(REPO / "trainer/configs/llama350m.yaml").model,
])
def test_estimated_params_equal_the_model(args):
    with torch.device("meta"):
        model = Transformer(args)
    assert param_count(args) == count_params(model)


def test_sizes_of_the_125m_config():
    a = load_config(REPO / "trainer/configs/llama125m.yaml").model
    assert 120e6 < param_count(a) < 135e6
    # 6 * N (tied: the head is a matmul over the shared embedding) + 12 * L * H * d_head * T
    assert flops_per_token(a, 1024) == 6 * param_count(a) + 12 * 12 * 12 * 64 * 1024
    assert kv_cache_bytes(a, 1024) == 2 * 12 * 4 * 64 * 1024 * 2


def test_estimate_cli_prints_the_model_count(capsys):
    from trainer.estimate import main

    assert main(["--config", str(REPO / "trainer/configs/tiny.yaml"), "--gpus", "2", "--fsdp"]) == 0
    out = capsys.readouterr().out
    assert f"parameters        {param_count(load_config(REPO / 'trainer/configs/tiny.yaml').model):,}" in out
    assert "activations" in out and "KV cache" in out


@pytest.mark.parametrize("kind", ["cosine", "wsd"])
def test_schedules_warm_up_and_end_at_the_floor(kind):
    s = ScheduleConfig(kind=kind, warmup_steps=10, min_lr_ratio=0.1, decay_fraction=0.2)
    lrs = [lr_at(i, 100, 1.0, s) for i in range(100)]
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)
    assert lrs[-1] == pytest.approx(0.1) and all(a >= b for a, b in zip(lrs[9:], lrs[10:], strict=False))
    if kind == "wsd":
        assert lrs[79] == 1.0 and lrs[80] < 1.0


def test_spike_detector_flags_and_remembers():
    d = SpikeDetector(factor=2.0, window=4)
    flags = [d.update(i, v) for i, v in enumerate([9.0, 1.0, 1.0, 1.0, 1.0, 1.9, 2.5, 1.0])]
    assert flags == [False, False, False, False, False, False, True, False]  # 9.0 came before the window filled
    assert d.spikes == [{"step": 6, "loss": 2.5, "rolling_mean": pytest.approx(1.225)}]
    assert list(d.recent) == [1.0, 1.0, 1.9, 1.0]  # the spike stays out of the rolling mean


def test_caps_redistribute_the_excess():
    probs = mixture_probs({"zh": 10, "en": 10, "code": 10, "domain": 10},
                          {"zh": 4, "en": 4, "code": 2, "domain": 4}, {"domain": 0.15})
    assert probs["domain"] == pytest.approx(0.15)
    assert probs["zh"] == pytest.approx(0.85 * 0.4) and probs["code"] == pytest.approx(0.85 * 0.2)
    assert mixture_probs({"a": 30, "b": 10}, None, {}) == {"a": 0.75, "b": 0.25}
    with pytest.raises(MixtureError, match="no training data: nope"):
        mixture_probs({"a": 1}, {"nope": 1.0}, {})


def _batches(sampler, n, size, start=1):
    return [sampler.take(size, step) for step in range(start, start + n)]


def test_sampler_hits_weights_upsamples_and_resumes():
    sizes = {"big": 5000, "mid": 400, "small": 7}
    probs = mixture_probs(sizes, {"big": 5, "mid": 3, "small": 2}, {})
    s = MixtureSampler(sizes, [(1, probs)], seed=3)
    batches = _batches(s, 400, 50)
    picks = [p for b in batches for p in b]
    shares = collections.Counter(c for c, _ in picks)
    for c, p in probs.items():
        assert abs(shares[c] / 20000 - p) < 0.01
    small = collections.Counter(i for c, i in picks if c == "small")  # ~570 epochs of 7 sequences, evenly
    assert set(small) == set(range(7)) and max(small.values()) - min(small.values()) <= 1
    assert s.epochs()["small"] > 500
    again = MixtureSampler(sizes, [(1, probs)], seed=3)
    head = _batches(again, 140, 50)
    resumed = MixtureSampler(sizes, [(1, probs)], seed=3)
    resumed.load_state_dict(again.state_dict())
    assert head + _batches(resumed, 260, 50, start=141) == batches
    assert MixtureSampler(sizes, [(1, probs)], seed=4).take(200) != picks[:200]


def test_one_epoch_by_size_reads_every_sequence_once():
    """Mixture by size, one epoch of picks: every channel, however small, is read once (within one pick), not
    scattered as independent draws would (a 4-sequence channel read 0 to 9 times)."""
    sizes = {"big": 3000, "mid": 90, "small": 4, "tiny": 1}
    for seed in range(5):
        s = MixtureSampler(sizes, [(1, mixture_probs(sizes, None, {}))], seed=seed)
        picks = [p for b in _batches(s, 3095 // 5, 5) for p in b]
        counts = collections.Counter(c for c, _ in picks)
        assert all(abs(counts[c] - n) <= 1 for c, n in sizes.items()), (seed, counts)
        big = [i for c, i in picks if c == "big"]
        assert len(set(big)) == len(big)  # no sequence twice within the epoch


@pytest.mark.parametrize("seed", range(4))
def test_every_global_batch_holds_each_channels_share(seed):
    """A channel of share p gets floor or ceil of p x batch size in every global batch (a 1.5% channel in batches
    of 64: 0.96 -> 0 or 1, and 1 in 96% of them), and stays within two picks of p x picks so far."""
    sizes = {"web": 100000, "books": 20000, "code": 9000, "math": 500}
    probs = mixture_probs(sizes, {"web": 0.6, "books": 0.235, "code": 0.15, "math": 0.015}, {})
    s = MixtureSampler(sizes, [(1, probs)], seed=seed)
    totals = collections.Counter()
    for k, b in enumerate(_batches(s, 300, 64), start=1):
        counts = collections.Counter(c for c, _ in b)
        totals.update(counts)
        for c, p in probs.items():
            assert counts[c] in (math.floor(p * 64), math.ceil(p * 64)), (k, c, counts)
            assert abs(totals[c] - p * 64 * k) <= 2, (k, c, totals)
    assert totals["math"] / 300 == pytest.approx(0.96, abs=0.01)


def test_a_staged_mixture_switches_at_its_step():
    sizes = {"web": 5000, "books": 3000, "math": 300}
    first = mixture_probs(sizes, {"web": 0.8, "books": 0.2}, {})
    anneal = mixture_probs(sizes, {"web": 0.2, "books": 0.3, "math": 0.5}, {})
    s = MixtureSampler(sizes, [(1, first), (11, anneal)], seed=0)
    batches = _batches(s, 20, 10)
    before = collections.Counter(c for b in batches[:10] for c, _ in b)
    after = collections.Counter(c for b in batches[10:] for c, _ in b)
    assert before == {"web": 80, "books": 20} and after == {"web": 20, "books": 30, "math": 50}
    assert [s.stage_at(k) for k in (1, 10, 11, 99)] == [0, 0, 1, 1]
    books = [i for b in batches for c, i in b if c == "books"]
    assert len(set(books)) == len(books) == 50  # the channel's read order carries across the switch
    resumed = MixtureSampler(sizes, [(1, first), (11, anneal)], seed=0)
    _batches(resumed, 12, 10)
    state = resumed.state_dict()
    again = MixtureSampler(sizes, [(1, first), (11, anneal)], seed=0)
    again.load_state_dict(state)
    assert _batches(again, 8, 10, start=13) == batches[12:]
