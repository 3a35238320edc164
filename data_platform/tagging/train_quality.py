"""python -m data_platform.tagging.train_quality --data LABELLED.parquet [--out HEAD.pt] [--fine-tune-encoder]

Trains the quality head (and, with --fine-tune-encoder, the encoder too) with Accelerate on a parquet file of
(text, score in [0, 5]) rows, optionally with a ``split`` column (train/test; otherwise a seeded random
``--test-share`` is held out). Reports on the held-out rows: F1 of "score >= threshold", the confusion matrix of
rounded scores, Pearson and Spearman correlation, mean absolute error; writes them next to the head.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class TrainConfig:
    encoder: str = "bundled:all-MiniLM-L6-v2"
    max_tokens: int = 256
    epochs: int = 40
    batch_size: int = 32
    lr: float = 1e-3
    hidden: int = 64
    fine_tune_encoder: bool = False
    encoder_lr: float = 2e-5
    threshold: float = 3.0
    test_share: float = 0.2
    seed: int = 0


def split_rows(table, cfg: TrainConfig) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks (train, test) from the ``split`` column or a seeded random share."""
    n = table.num_rows
    if "split" in table.column_names:
        test = np.array([s == "test" for s in table.column("split").to_pylist()])
    else:
        test = np.random.default_rng(cfg.seed).random(n) < cfg.test_share
    return ~test, test


def evaluate(pred: np.ndarray, truth: np.ndarray, threshold: float) -> dict:
    """F1 of score >= threshold, confusion matrix of rounded scores (rows: truth 0-5, columns: prediction),
    correlations, mean absolute error."""
    import pandas as pd

    p, t = pred >= threshold, truth >= threshold
    tp, fp, fn = int((p & t).sum()), int((p & ~t).sum()), int((~p & t).sum())
    precision, recall = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
    confusion = np.zeros((6, 6), dtype=int)
    np.add.at(confusion, (np.rint(truth).astype(int).clip(0, 5), np.rint(pred).astype(int).clip(0, 5)), 1)
    f1 = 2 * precision * recall / max(precision + recall, 1e-12)
    ranks = [pd.Series(v).rank().to_numpy() for v in (pred, truth)]
    return {"rows": int(len(truth)), "threshold": threshold, "f1": f1, "precision": precision, "recall": recall,
            "pearson": _pearson(pred, truth), "spearman": _pearson(*ranks), "mae": float(np.abs(pred - truth).mean()),
            "confusion": confusion.tolist()}


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation; NaN when either side is constant."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(np.corrcoef(np.asarray(a, np.float64), np.asarray(b, np.float64))[0, 1])


def train(texts: list[str], scores: np.ndarray, train_mask: np.ndarray, cfg: TrainConfig, out: Path) -> dict:
    """Train, save the head (and a fine-tuned encoder beside it) to ``out``, return the held-out metrics."""
    import torch
    from accelerate import Accelerator
    from accelerate.utils import set_seed

    from data_platform.semantic.encoder import embed_texts
    from data_platform.tagging.quality_head import predict, save_head

    set_seed(cfg.seed)
    acc = Accelerator(cpu=not torch.cuda.is_available())
    y = torch.tensor(scores, dtype=torch.float32)
    idx = np.nonzero(train_mask)[0]
    encoder = cfg.encoder
    if cfg.fine_tune_encoder:
        st, head = _fine_tune(acc, [texts[i] for i in idx], y[idx], cfg)
        encoder_dir = out.parent / f"{out.stem}-encoder"
        st.save(str(encoder_dir))
        encoder = encoder_dir.name
        emb = embed_texts(texts, str(encoder_dir), cfg.max_tokens, device="cpu")
    else:
        emb = embed_texts(texts, cfg.encoder, cfg.max_tokens)
        head = _fit_head(acc, torch.from_numpy(emb[idx]), y[idx], cfg)
    head = acc.unwrap_model(head).cpu().eval()
    save_head(head, out, encoder, cfg.max_tokens, {"trained": asdict(cfg)})
    return evaluate(predict(head, emb[~train_mask]), np.asarray(scores)[~train_mask], cfg.threshold)


def _fit_head(acc, x, y, cfg: TrainConfig):
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    from data_platform.tagging.quality_head import QualityHead

    head = QualityHead(x.shape[1], cfg.hidden)
    opt = torch.optim.AdamW(head.parameters(), lr=cfg.lr, weight_decay=0.01)
    loader = DataLoader(TensorDataset(x, y), batch_size=cfg.batch_size, shuffle=True,
                        generator=torch.Generator().manual_seed(cfg.seed))
    head, opt, loader = acc.prepare(head, opt, loader)
    head.train()
    for _ in range(cfg.epochs):
        for xb, yb in loader:
            loss = torch.nn.functional.mse_loss(head(xb), yb)
            opt.zero_grad()
            acc.backward(loss)
            opt.step()
    return head


def _fine_tune(acc, texts: list[str], y, cfg: TrainConfig):
    """Encoder and head trained together (the encoder at ``encoder_lr``); returns (encoder, head) on the CPU."""
    import torch
    from sentence_transformers import SentenceTransformer
    from torch.utils.data import DataLoader

    from data_platform.semantic.encoder import resolve_model
    from data_platform.tagging.quality_head import QualityHead

    st = SentenceTransformer(resolve_model(cfg.encoder), device="cpu", local_files_only=True)
    st.max_seq_length = cfg.max_tokens
    dim = st.get_embedding_dimension()
    if dim is None:
        raise ValueError(f"encoder {cfg.encoder} does not state its embedding dimension")
    head = QualityHead(dim, cfg.hidden)
    opt = torch.optim.AdamW([{"params": st.parameters(), "lr": cfg.encoder_lr},
                             {"params": head.parameters(), "lr": cfg.lr}], weight_decay=0.01)
    rows: Any = list(range(len(texts)))  # a list is a map-style dataset (torch's stubs want a Dataset)
    loader = DataLoader(rows, batch_size=cfg.batch_size, shuffle=True,
                        generator=torch.Generator().manual_seed(cfg.seed))
    st, head, opt, loader = acc.prepare(st, head, opt, loader)
    st.train()
    head.train()
    for _ in range(cfg.epochs):
        for batch in loader:
            ids = batch.tolist()
            feats = acc.unwrap_model(st).preprocess([texts[i] for i in ids])
            feats = {k: v.to(acc.device) for k, v in feats.items() if isinstance(v, torch.Tensor)}
            pred = head(st(feats)["sentence_embedding"])
            loss = torch.nn.functional.mse_loss(pred, y[ids].to(acc.device))
            opt.zero_grad()
            acc.backward(loss)
            opt.step()
    return acc.unwrap_model(st).cpu().eval(), acc.unwrap_model(head)


def report(metrics: dict) -> str:
    lines = [f"held-out rows: {metrics['rows']}; F1 (score >= {metrics['threshold']:g}): {metrics['f1']:.3f} "
             f"(precision {metrics['precision']:.3f}, recall {metrics['recall']:.3f}); Spearman "
             f"{metrics['spearman']:.3f}, Pearson {metrics['pearson']:.3f}, MAE {metrics['mae']:.3f}",
             "confusion matrix (rows: label 0-5, columns: predicted 0-5):"]
    lines += ["  " + " ".join(f"{v:4d}" for v in row) for row in metrics["confusion"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m data_platform.tagging.train_quality",
                                description="Train the quality head on a labelled parquet file (text, score 0-5).",
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog="""\
example (dp-train-quality is the same command as python -m data_platform.tagging.train_quality):
  dp-train-quality --data models/quality/labelled.parquet --out models/quality/head.pt""")
    p.add_argument("--data", default=str(REPO / "models" / "quality" / "labelled.parquet"),
                   help="parquet with text and score columns (and optionally split: train/test)")
    p.add_argument("--out", default=str(REPO / "models" / "quality" / "head.pt"), help="head file to write")
    d = TrainConfig()
    for name, value in asdict(d).items():
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            p.add_argument(flag, action="store_true")
        else:
            p.add_argument(flag, type=type(value), default=value)
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    from data_platform.cli import error

    cfg = TrainConfig(**{k: getattr(args, k) for k in asdict(d)})
    try:
        import pyarrow.parquet as pq

        table = pq.read_table(args.data)
    except (OSError, ValueError) as err:
        return error(f"cannot read {args.data}: {err}")
    if not {"text", "score"}.issubset(table.column_names):
        return error(f"{args.data} needs the columns text and score; it has {', '.join(table.column_names)}")
    scores = np.asarray(table.column("score").to_pylist(), dtype=np.float32)
    if np.isnan(scores).any() or scores.min() < 0 or scores.max() > 5:
        return error(f"{args.data}: scores must lie in [0, 5]")
    train_mask, test_mask = split_rows(table, cfg)
    if not test_mask.any() or not train_mask.any():
        return error("need both training and held-out rows (check the split column or --test-share)")
    try:
        metrics = train(table.column("text").to_pylist(), scores, train_mask, cfg, Path(args.out))
    except FileNotFoundError as err:
        return error(err)
    summary = json.dumps({"data": Path(args.data).name, **metrics}, indent=2)
    Path(args.out).with_suffix(".metrics.json").write_text(summary + "\n")
    print(report(metrics))
    print(f"head: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
