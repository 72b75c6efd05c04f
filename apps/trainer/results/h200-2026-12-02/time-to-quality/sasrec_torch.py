# Time to quality, PyTorch eager side: trains the model and recipe of cutrec's default
# `cutrec train --data Beauty.txt` (config resolved from apps/trainer/src/config/schema.ts, no flags)
# to early stopping on validation NDCG@10, tests the best epoch, and reports minutes.
#
#   python3 sasrec_torch.py Beauty.txt [--remove-seen] [--amp bf16] [--neg-impl logits|gather]
#   python3 sasrec_torch.py Beauty.txt --self-test               (GPU, seconds: against cutrec's numbers)
#   python3 sasrec_torch.py Beauty.txt --check-data DUMP_DIR     (numpy only, no torch; see README)
#
# Output: one JSON line at the start, one per epoch, one at the end:
#   {"minutes_to_best", "minutes_total", "best_epoch", "test_ndcg10_removed", "test_hr10_removed",
#    "test_ndcg10_kept", "test_hr10_kept", "seconds_per_epoch", ...}
# Times count from the start of this process (before `import torch`), as `cutrec train`'s would
# from its command line; epochs are 0-based as in cutrec's metrics.jsonl.
#
# The recipe (cutrec's defaults, where each comes from):
# - data (packages/data/src/readers/text.ts, builder.ts): `user item item ...` per line, a user on
#   several lines gets the items appended in file order; user and item ids remapped densely in
#   numeric order (Beauty item k -> k-1); catalog C = distinct items; padding id C.
# - split (packages/data/src/split.ts leaveOneOut): a user with n >= 3 items: last = test target
#   (history: the n-1 before it, the validation item included), the one before = validation
#   target (history: the n-2 before), first n-2 = training sequence; n < 3: all train, no eval.
# - training batches (packages/data/src/batches.ts trainingBatches): users with >= 2 training
#   items, shuffled every epoch; one row per user from its last L+1 items, inputs s[0..n-1),
#   targets s[1..n) (a target at every position), left-padded with C / -1; L = maxLen 'auto' =
#   min(50, longest training input) (apps/trainer/src/train/setup.ts) = 50 on Beauty; batch 256,
#   the last batch smaller (88 steps per epoch on Beauty).
# - model (packages/models/src/sasrec.ts, config.ts, schema.ts modelSchema): SASRec, hidden 64,
#   2 blocks, 2 heads, FFN inner 64 with ReLU, pre-norm (x += drop(attn(LN1 x)); x += drop(FFN(LN2 x)))
#   with a final LN, LN eps 1e-6; item table [C+1, 64] tied with the output, inputs scaled by
#   sqrt(64), plus learned positions [L, 64]; dropout 0.5 on the embeddings (then padding rows
#   zeroed), on the attention probabilities, the attention output, the FFN inner activation and
#   the FFN output; attention: query i sees keys j <= i that are not padding, and itself;
#   hidden = final LN(x) * (input != padding). Init (sasrec.ts initialValues): item rows
#   N(0, 1/D) (std 1/sqrt(D)), padding row 0, positions N(0, 0.1^2), every weight matrix
#   Glorot-uniform, biases 0, LN gamma 1 beta 0.
# - loss (DESIGN.md loss contract, schema.ts lossSchema): CCE- with K = 1024 uniform negatives per
#   row (share 'row'), drawn with replacement over the C items; logQ on: negative logits minus
#   log(K * q) = log(K / C); accidental hits (negative == target) removed (-inf); loss_i =
#   logsumexp(pos, negs) - pos over the rows with a target, mean over those rows.
# - optimizer (schema.ts optimizerSchema, packages/models/src/optim/adamw.ts): AdamW lr 2e-3
#   constant (no warm-up, no decay), betas (0.9, 0.98), eps 1e-8, weight decay 0 (decay would
#   apply to rank >= 2 parameters only), no gradient clipping.
# - loop (apps/trainer/src/train/train.ts, schema.ts trainSchema): up to 200 epochs; validation
#   NDCG@10 after every epoch; best = strictly higher than every earlier epoch; stop once 15
#   epochs in a row did not improve; test evaluated once, on the best epoch's weights.
# - evaluation (packages/data/src/ranking.ts, packages/models/src/eval/rank.ts, fused/evaluate.ts):
#   hidden state at the last position of the left-padded last L history items; every item of the
#   catalog scored by h . w_c; rank = number of items c != target with a higher score, or an
#   equal score and a lower id; NDCG@10 = 1/log2(rank+2) if rank < 10, HR@10 = [rank < 10];
#   seen items removed (--remove-seen): every item of the example's whole history except the target
#   is dropped from the candidates. cutrec's default keeps them (eval.removeSeen false), so its
#   default early stopping selects on seen-kept validation NDCG@10; this script does the same
#   unless --remove-seen is given. The test split is printed both ways.
# - precision: `--engine auto --precision auto` on CUDA is the fused engine in fp32
#   (apps/trainer/src/engine.ts chooseEngine: 'auto' is fp32 for now), fp32-accurate GEMMs.
#
# What differs from cutrec (everything else is meant to be the same computation):
# - random streams: the initial weights are cutrec's own (its Philox init ported to numpy, equal
#   to cutrec's initialValues; --init torch draws the same distributions from torch instead), but
#   dropout masks and negatives come from torch's CUDA RNG (torch.manual_seed(seed)) instead of
#   cutrec's Philox streams, and epochs are shuffled by numpy's default_rng((seed, epoch))
#   (--shuffle cutrec: cutrec's exact sfc32 order). Same distributions, different draws, so the
#   two runs differ by seed noise, not by recipe. (--self-test uses cutrec's negatives.)
# - precision: default fp32 like cutrec's default, with TF32 off (torch's default for matmuls;
#   set explicitly below); `--amp bf16` runs the model body under bf16 autocast (linears and
#   attention in bf16, layer norms, loss and scoring in fp32), which cutrec's default does not.
# - loss implementation: '--neg-impl logits' (default) takes the K sampled logits per row from
#   the [N, C] product H W^T (C is only 12,101 on Beauty, so it is cheap); '--neg-impl gather'
#   gathers the [N, K, D] negative embeddings instead (what a PyTorch sampled softmax usually
#   does). Both compute exactly the CCE- values above; neither is cutrec's fused kernel.
# - kernels: q, k and v are one [D, 3D] linear (each [D, D] block Glorot-initialised as cutrec's
#   separate wq, wk, wv); attention is F.scaled_dot_product_attention with a boolean mask;
#   AdamW is torch's fused implementation. Only the rows with a target go into the loss (their
#   flat indices are built per epoch in numpy, so no step waits on the GPU).
# - the last batch is smaller (cutrec pads it with empty sequences, which changes nothing).
# - ids: assumed to be canonical decimal integers (cutrec sorts non-canonical ones as strings).
import time

T0 = time.time()

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402

# ----------------------------------------------------------------------------------------------
# data: numpy only (checked against @cutrec/data by --check-data)


def read_sasrec_text(path):
    """Sequences of a SASRec text file: (offsets [U+1], items [n]) with dense ids, U, C."""
    users, items = [], []
    with open(path) as f:
        for line in f:
            t = line.split()
            if not t:
                continue
            if len(t) < 2:
                raise ValueError(f"{path}: a line with a user and no items: {line!r}")
            users.extend([t[0]] * (len(t) - 1))
            items.extend(t[1:])
    users = np.array(users, dtype=np.int64)
    items = np.array(items, dtype=np.int64)
    _, u = np.unique(users, return_inverse=True)  # dense ids in numeric order
    _, i = np.unique(items, return_inverse=True)
    U, C = int(u.max()) + 1, int(i.max()) + 1
    order = np.argsort(u, kind="stable")  # grouped by user, file order within a user
    counts = np.bincount(u, minlength=U)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return offsets, i[order].astype(np.int64), U, C


def prefix_csr(offsets, items, take):
    """The first take[u] items of every row u of a CSR list: (offsets, items)."""
    n = np.diff(offsets)
    pos = np.arange(len(items)) - np.repeat(offsets[:-1], n)
    keep = pos < np.repeat(take, n)
    return np.concatenate([[0], np.cumsum(take)]).astype(np.int64), items[keep]


def leave_one_out(offsets, items):
    """cutrec's leaveOneOut: train CSR for every user, and (users, history CSR, targets) for valid and test."""
    n = np.diff(offsets)
    has = n >= 3
    train = prefix_csr(offsets, items, np.where(has, n - 2, n))
    users = np.nonzero(has)[0]
    nu = n[users]
    sub_off = np.concatenate([[0], np.cumsum(nu)]).astype(np.int64)
    # the rows of `users` as one CSR (vectorized gather of their items)
    pos = np.arange(sub_off[-1]) - np.repeat(sub_off[:-1], nu)
    sub_items = items[np.repeat(offsets[users], nu) + pos]
    valid = (users, *prefix_csr(sub_off, sub_items, nu - 2), items[offsets[users] + nu - 2])
    test = (users, *prefix_csr(sub_off, sub_items, nu - 1), items[offsets[users] + nu - 1])
    return train, valid, test


def training_rows(train_off, train_items, L, C):
    """cutrec's trainingBatches rows: (users [Ut], inputs [Ut, L], targets [Ut, L]) for users with >= 2 items."""
    length = np.diff(train_off)
    users = np.nonzero(length >= 2)[0]
    start, end = train_off[users], train_off[users + 1]
    idx = end[:, None] - 1 - L + np.arange(L)[None, :]  # the input at column p is s[len-1-L+p]
    ok = idx >= start[:, None]
    inputs = np.where(ok, train_items[np.maximum(idx, 0)], C)
    targets = np.where(ok, train_items[np.maximum(idx + 1, 0)], -1)
    return users, inputs.astype(np.int64), targets.astype(np.int64)


def evaluation_inputs(hist_off, hist_items, L, C):
    """cutrec's evaluationBatches inputs [U, L]: the last L history items, left-padded with C."""
    start, end = hist_off[:-1], hist_off[1:]
    idx = end[:, None] - L + np.arange(L)[None, :]
    ok = idx >= start[:, None]
    return np.where(ok, hist_items[np.maximum(idx, 0)], C).astype(np.int64)


def seen_pairs(hist_off, hist_items, C):
    """(row, item) of every distinct history item, sorted by row then item (the target is kept at ranking)."""
    rows = np.repeat(np.arange(len(hist_off) - 1), np.diff(hist_off))
    key = np.unique(rows * C + hist_items)
    return key // C, key % C


def epoch_plan(perm, nvalid, B, L):
    """For users in order `perm` (rows of training_rows), batches of B: the flat [b*L + t] indices of
    the positions with a target, batch after batch, and each batch's slice of them (host ints)."""
    nb = nvalid[perm]
    k = np.arange(len(perm))
    rowstart = (k % B) * L + L - nb
    within = np.arange(nb.sum()) - np.repeat(np.cumsum(nb) - nb, nb)
    flat = np.repeat(rowstart, nb) + within
    per_batch = np.bincount(k // B, weights=nb).astype(np.int64)
    return flat.astype(np.int64), np.concatenate([[0], np.cumsum(per_batch)]).tolist()


def rank_of_targets(scores, targets, ids, rows, seen_rows=None, seen_cols=None):
    """0-based rank [U] of targets among all items for scores [U, C] (numpy or torch): items c != y
    with a higher score, or an equal one and a lower id; seen (row, item) pairs other than the
    target do not compete. Overwrites the seen entries of `scores` with -inf."""
    sy = scores[rows, targets]
    if seen_rows is not None:
        scores[seen_rows, seen_cols] = -math.inf
    beats = (scores > sy[:, None]) | ((scores == sy[:, None]) & (ids[None, :] < targets[:, None]))
    beats &= ids[None, :] != targets[:, None]  # as rank.ts (already false for c = y by the rule above)
    return beats.sum(1)


def ndcg_hr(ranks, k=10):
    r = np.asarray(ranks, dtype=np.float64)
    hit = r < k
    return float(np.where(hit, 1.0 / np.log2(r + 2), 0.0).mean()), float(hit.mean())


# cutrec's random streams, ported for exact initial weights, and for --self-test and --check-data:
# Philox4x32-10 (packages/sampler/src/philox.ts), the initialisation (packages/models/src/init.ts,
# sasrec.ts parameterSpecs/initialValues), uniform negatives (sampler/src/negatives.ts) and the
# shuffle (packages/data/src/random.ts, sfc32 seeded through splitmix32).
M32 = 0xFFFFFFFF
INIT_STREAM = 0x1A170001


def philox4x32_10(c0, c1, c2, c3, k0=0, k1=0):
    """Philox4x32-10 of counter arrays (broadcast) and a key: four uint64 arrays of 32-bit words."""
    x = [np.broadcast_to(np.asarray(c, dtype=np.uint64), np.broadcast(c0, c1, c2, c3).shape) & M32 for c in (c0, c1, c2, c3)]
    k0, k1 = np.uint64(k0), np.uint64(k1)
    for r in range(10):
        if r > 0:
            k0, k1 = (k0 + np.uint64(0x9E3779B9)) & np.uint64(M32), (k1 + np.uint64(0xBB67AE85)) & np.uint64(M32)
        p0 = np.uint64(0xD2511F53) * x[0]
        p1 = np.uint64(0xCD9E8D57) * x[2]
        x = [(p1 >> np.uint64(32)) ^ x[1] ^ k0, p1 & np.uint64(M32), (p0 >> np.uint64(32)) ^ x[3] ^ k1, p0 & np.uint64(M32)]
    return x


def seed_key(seed):
    return seed % 2**32, seed // 2**32


def cutrec_normal(seed, param, size, std):
    w = philox4x32_10(param, np.arange((size + 1) // 2), INIT_STREAM, 0, *seed_key(seed))
    u1 = (w[0].astype(np.float64) + 0.5) * 2.0**-32
    u2 = (w[1].astype(np.float64) + 0.5) * 2.0**-32
    r = np.sqrt(-2 * np.log(u1)) * std
    return np.stack([r * np.cos(2 * np.pi * u2), r * np.sin(2 * np.pi * u2)], 1).reshape(-1)[:size].astype(np.float32)


def cutrec_uniform(seed, param, size, limit):
    w = philox4x32_10(param, np.arange(size), INIT_STREAM + 1, 0, *seed_key(seed))
    return (((w[0].astype(np.float64) + 0.5) * 2.0**-32 * 2 - 1) * limit).astype(np.float32)


def cutrec_init(C, L, D, F, blocks, seed=0, pre_norm=True):
    """cutrec's initial parameters by name, in its layout (weights [in, out]), in its order."""
    specs = [("item_emb", (C + 1, D), "items"), ("pos_emb", (L, D), "pos")]
    for b in range(blocks):
        p = f"blocks.{b}."
        specs += [(p + "ln1.gamma", (D,), 1), (p + "ln1.beta", (D,), 0)]
        for m in "qkvo":
            specs += [(p + f"attn.w{m}", (D, D), "glorot"), (p + f"attn.b{m}", (D,), 0)]
        specs += [(p + "ln2.gamma", (D,), 1), (p + "ln2.beta", (D,), 0)]
        specs += [(p + "ffn.w1", (D, F), "glorot"), (p + "ffn.b1", (F,), 0)]
        specs += [(p + "ffn.w2", (F, D), "glorot"), (p + "ffn.b2", (D,), 0)]
    if pre_norm:
        specs += [("final_ln.gamma", (D,), 1), ("final_ln.beta", (D,), 0)]
    out = {}
    for i, (name, shape, kind) in enumerate(specs):
        size = int(np.prod(shape))
        if kind == "items":
            v = cutrec_normal(seed, i, size, 1 / math.sqrt(D))
            v[(C) * D :] = 0  # the padding row
        elif kind == "pos":
            v = cutrec_normal(seed, i, size, 0.1)
        elif kind == "glorot":
            v = cutrec_uniform(seed, i, size, math.sqrt(6 / (shape[0] + shape[1])))
        else:
            v = np.full(size, kind, dtype=np.float32)
        out[name] = v.reshape(shape)
    return out


def cutrec_negatives(rows, K, step, C, seed=0):
    """cutrec's uniform negatives [len(rows), K] of flat rows `rows` (share 'row': group = row) at a step."""
    w = philox4x32_10(np.asarray(rows)[:, None], np.arange(K)[None, :], step, 0, *seed_key(seed))
    return ((w[0] * np.uint64(C)) >> np.uint64(32)).astype(np.int64)


class CutrecRng:
    """packages/data/src/random.ts Rng (sfc32 seeded through splitmix32)."""

    def __init__(self, seed, stream=0):
        st = [(seed % 2**32) ^ ((seed // 2**32) * 0x27D4EB2F & M32) ^ (stream * 0x165667B1 & M32)]

        def splitmix():
            st[0] = (st[0] + 0x9E3779B9) & M32
            z = st[0]
            z = ((z ^ (z >> 16)) * 0x85EBCA6B) & M32
            z = ((z ^ (z >> 13)) * 0xC2B2AE35) & M32
            return z ^ (z >> 16)

        self.a = splitmix()
        self.b = splitmix() ^ (seed // 2**32)
        self.c = splitmix() ^ stream
        self.d = 1
        for _ in range(15):
            self.next()

    def next(self):
        t = (self.a + self.b + self.d) & M32
        self.d = (self.d + 1) & M32
        self.a = self.b ^ (self.b >> 9)
        self.b = (self.c + (self.c << 3)) & M32
        self.c = ((self.c << 21) | (self.c >> 11)) & M32
        self.c = (self.c + t) & M32
        return t

    def permutation(self, n):
        p = list(range(n))
        for i in range(n - 1, 0, -1):
            m = i + 1
            limit = 2**32 - 2**32 % m
            x = self.next()
            while x >= limit:
                x = self.next()
            j = x % m
            p[i], p[j] = p[j], p[i]
        return np.array(p, dtype=np.int64)


def prepare(path, max_len="auto"):
    """Everything the training and evaluation read, as numpy arrays."""
    offsets, items, U, C = read_sasrec_text(path)
    (tr_off, tr_items), valid, test = leave_one_out(offsets, items)
    longest = max(1, int((np.diff(tr_off) - 1).max()))
    L = min(50, longest) if max_len == "auto" else int(max_len)
    tr_users, tr_inputs, tr_targets = training_rows(tr_off, tr_items, L, C)
    out = dict(U=U, C=C, L=L, offsets=offsets, items=items, tr_items=tr_items, tr_users=tr_users, tr_inputs=tr_inputs,
               tr_targets=tr_targets, tr_nvalid=(tr_targets >= 0).sum(1))
    for name, (users, h_off, h_items, targets) in (("valid", valid), ("test", test)):
        rows, cols = seen_pairs(h_off, h_items, C)
        out[name] = dict(users=users, h_off=h_off, h_items=h_items, targets=targets.astype(np.int64),
                         inputs=evaluation_inputs(h_off, h_items, L, C), seen_rows=rows, seen_cols=cols)
    return out


# ----------------------------------------------------------------------------------------------
# --check-data: compare with what @cutrec/data builds (dump_cutrec.mjs), numpy only


def check_data(path, dump):
    fails = []

    def check(name, ok, detail=""):
        print(f"{'PASS' if ok else 'FAIL'} {name}{(': ' + detail) if detail else ''}", flush=True)
        if not ok:
            fails.append(name)

    rd = lambda name: np.fromfile(f"{dump}/{name}.i32", dtype=np.int32).astype(np.int64)  # noqa: E731
    meta = json.load(open(f"{dump}/meta.json"))
    d = prepare(path)
    U, C, L = d["U"], d["C"], d["L"]
    check("users, items, maxLen", (U, C, L) == (meta["numUsers"], meta["numItems"], meta["maxLen"]),
          f"{(U, C, L)} vs {(meta['numUsers'], meta['numItems'], meta['maxLen'])}")
    check("dense sequences", np.array_equal(np.diff(d["offsets"]), rd("seq_lengths"))
          and np.array_equal(d["items"], rd("seq_items")))
    B = 256
    check("steps per epoch", math.ceil(len(d["tr_users"]) / B) == meta["stepsPerEpoch"],
          f"{math.ceil(len(d['tr_users']) / B)} vs {meta['stepsPerEpoch']}")
    row_of_user = np.full(U, -1)
    row_of_user[d["tr_users"]] = np.arange(len(d["tr_users"]))
    for e in (0, 1):
        users = rd(f"train_e{e}_users")
        sizes = meta[f"train_e{e}_sizes"]
        check(f"epoch {e}: every training user once",
              np.array_equal(np.sort(users), d["tr_users"]) and sum(sizes) == len(users))
        perm = row_of_user[users]  # cutrec's shuffle, as rows of training_rows
        x, y = d["tr_inputs"][perm].reshape(-1), d["tr_targets"][perm].reshape(-1)
        check(f"epoch {e}: batch inputs", np.array_equal(x, rd(f"train_e{e}_inputs")))
        check(f"epoch {e}: batch targets", np.array_equal(y, rd(f"train_e{e}_targets")))
        flat, offs = epoch_plan(perm, d["tr_nvalid"], B, L)
        ty = rd(f"train_e{e}_targets")
        ok, b0 = True, 0
        for s, size in enumerate(sizes):  # the flat indices of a batch are where its targets are valid
            want = np.nonzero(ty[b0 * L : (b0 + size) * L] >= 0)[0]
            ok &= np.array_equal(flat[offs[s] : offs[s + 1]], want)
            b0 += size
        check(f"epoch {e}: loss-row indices of every batch", bool(ok) and len(offs) == len(sizes) + 1)
    for name in ("valid", "test"):
        s = d[name]
        check(f"{name}: users and targets", np.array_equal(s["users"], rd(f"{name}_users"))
              and np.array_equal(s["targets"], rd(f"{name}_targets")))
        check(f"{name}: histories", np.array_equal(np.diff(s["h_off"]), rd(f"{name}_hist_lengths"))
              and np.array_equal(s["h_items"], rd(f"{name}_hist_items")))
        check(f"{name}: evaluation inputs", np.array_equal(s["inputs"].reshape(-1), rd(f"{name}_inputs")))
        # popularity scorer (training counts; many ties): cutrec's evaluatePopularity
        counts = np.bincount(d["tr_items"], minlength=C).astype(np.float64)
        n = len(s["targets"])
        scorers = {"popularity": (np.broadcast_to(counts, (n, C)), n)}
        # tie-heavy integer scorer of dump_cutrec.mjs on the first scorerUsers examples
        nu = meta["scorerUsers"]
        def v(a, dd):  # noqa: E306
            h = ((a[:, None] * 0x9E3779B1) % 2**32) ^ (((dd[None, :] + 1) * 0x85EBCA77) % 2**32)
            return ((h >> 16) % 9 - 4) / 8.0
        dd = np.arange(8, dtype=np.int64)
        H, W = v(np.arange(nu, dtype=np.int64), dd), v(np.arange(C, dtype=np.int64) + 1000003, dd)
        scorers["scorer"] = (None, nu)
        for sname, (sc, m) in scorers.items():
            for protocol in ("kept", "removed"):
                ranks = []
                for a in range(0, m, 1024):
                    b = min(m, a + 1024)
                    if sc is not None:
                        chunk = np.array(sc[a:b])
                    else:  # dump_cutrec.mjs: H W^T + [c in history] + 0.5 [c = target]
                        chunk = H[a:b] @ W.T
                        lo, hi = np.searchsorted(s["seen_rows"], [a, b])
                        chunk[s["seen_rows"][lo:hi] - a, s["seen_cols"][lo:hi]] += 1.0
                        chunk[np.arange(b - a), s["targets"][a:b]] += 0.5
                    seen = None
                    if protocol == "removed":
                        lo, hi = np.searchsorted(s["seen_rows"], [a, b])
                        seen = (s["seen_rows"][lo:hi] - a, s["seen_cols"][lo:hi])
                    ranks.append(rank_of_targets(chunk, s["targets"][a:b], np.arange(C), np.arange(b - a),
                                                 *(seen or (None, None))))
                ranks = np.concatenate(ranks)
                want = meta[f"{sname}_{name}_{protocol}"]
                got = {f"{m}@{k}": x for k in (1, 5, 10, 20) for m, x in zip(("ndcg", "hr"), ndcg_hr(ranks, k))}
                check(f"{name}: {sname} ndcg/hr @1,5,10,20 seen {protocol}",
                      all(abs(got[m] - want[m]) < 1e-12 for m in got),
                      f"ndcg@10 {got['ndcg@10']:.6f} hr@10 {got['hr@10']:.6f} vs cutrec "
                      f"{want['ndcg@10']:.6f} {want['hr@10']:.6f}")
    # cutrec's random streams ported: shuffle, negatives, initial weights (dump_cutrec_model.mjs)
    for e in (0, 1):
        perm = CutrecRng(0, e).permutation(len(d["tr_users"]))
        check(f"epoch {e}: CutrecRng permutation = cutrec's shuffle", np.array_equal(d["tr_users"][perm], rd(f"train_e{e}_users")))
    neg = cutrec_negatives(np.arange(700), 1024, 2, C)
    check("uniform negatives (Philox, share row) = @cutrec/sampler's", np.array_equal(neg.reshape(-1), rd("negatives_rows700_k1024_step2")))
    try:
        ref = json.load(open(f"{dump}/model_ref.json"))
    except FileNotFoundError:
        ref = None
        print("SKIP initial weights: no model_ref.json (node dump_cutrec_model.mjs, ~8 min on a CPU)")
    if ref:
        init = cutrec_init(C, L, 64, 64, 2)
        ok = list(init) == list(ref["params"])
        for name, r in ref["params"].items():
            v = init[name].reshape(-1).astype(np.float64)
            ok &= list(init[name].shape) == r["shape"] and np.array_equal(v[:6], np.array(r["first"]))
            ok &= abs(v.sum() - r["sum"]) < 1e-6 * max(1, abs(r["sumsq"])) and abs((v * v).sum() - r["sumsq"]) < 1e-6 * max(1, r["sumsq"])
        check(f"initial weights ({len(init)} parameters) = cutrec's initialValues", bool(ok))
        check("self-test's batch 0 users = cutrec's", np.array_equal(
            d["tr_users"][CutrecRng(0, 0).permutation(len(d["tr_users"]))[:256]], np.array(ref["batch0Users"])))
    print(json.dumps({"check_data": "ok" if not fails else "FAILED", "failed": fails}))
    return 1 if fails else 0


# ----------------------------------------------------------------------------------------------
# PyTorch


def run(args):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    dev = "cuda"
    torch.backends.cuda.matmul.allow_tf32 = False  # cutrec's default is fp32-accurate
    torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(args.seed)
    d = prepare(args.data)
    U, C, L = d["U"], d["C"], d["L"]
    D, H, NB, FF, P, K, B = args.hidden, args.heads, args.blocks, args.hidden, args.dropout, args.negatives, args.batch_size
    amp = args.amp == "bf16"

    class Block(nn.Module):
        def __init__(s):
            super().__init__()
            s.ln1, s.ln2 = nn.LayerNorm(D, eps=1e-6), nn.LayerNorm(D, eps=1e-6)
            s.qkv, s.o = nn.Linear(D, 3 * D), nn.Linear(D, D)
            s.w1, s.w2 = nn.Linear(D, FF), nn.Linear(FF, D)

    class SASRec(nn.Module):
        def __init__(s):
            super().__init__()
            s.item = nn.Embedding(C + 1, D, padding_idx=C)
            s.pos = nn.Parameter(torch.empty(L, D))
            s.blocks = nn.ModuleList([Block() for _ in range(NB)])
            s.final = nn.LayerNorm(D, eps=1e-6)
            s.p = P
            s.register_buffer("causal", torch.ones(L, L, dtype=torch.bool).tril())
            s.register_buffer("eye", torch.eye(L, dtype=torch.bool))
            with torch.no_grad():
                s.item.weight.normal_(0, 1 / math.sqrt(D))
                s.item.weight[C].zero_()
                s.pos.normal_(0, 0.1)
                for b in s.blocks:  # Glorot-uniform per matrix: wq, wk, wv ([D, D] each), wo, w1, w2
                    for m, fan in ((b.qkv, 2 * D), (b.o, 2 * D), (b.w1, D + FF), (b.w2, FF + D)):
                        m.weight.uniform_(-math.sqrt(6 / fan), math.sqrt(6 / fan))
                        m.bias.zero_()

        def forward(s, x):
            drop = lambda t: F.dropout(t, s.p, s.training)  # noqa: E731
            Bx = x.shape[0]
            keep = (x != C).unsqueeze(-1)
            h = drop(s.item(x) * math.sqrt(D) + s.pos) * keep
            # query i attends keys j <= i that are not padding, and always itself
            allowed = ((s.causal & (x != C)[:, None, :]) | s.eye).unsqueeze(1)
            for b in s.blocks:
                q, k, v = b.qkv(b.ln1(h)).view(Bx, L, 3, H, D // H).permute(2, 0, 3, 1, 4)
                ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed, dropout_p=s.p if s.training else 0.0)
                h = h + drop(b.o(ctx.transpose(1, 2).reshape(Bx, L, D)))
                h = h + drop(b.w2(drop(F.relu(b.w1(b.ln2(h))))))
            return s.final(h) * keep

    model = SASRec().to(dev)
    if args.init == "cutrec":  # cutrec's exact initial weights (Philox, seed), weights transposed to [out, in]
        w = {k: torch.from_numpy(v) for k, v in cutrec_init(C, L, D, FF, NB, args.seed).items()}
        with torch.no_grad():
            model.item.weight.copy_(w["item_emb"])
            model.pos.copy_(w["pos_emb"])
            for i, b in enumerate(model.blocks):
                p = f"blocks.{i}."
                for ln, name in ((b.ln1, "ln1"), (b.ln2, "ln2")):
                    ln.weight.copy_(w[p + name + ".gamma"])
                    ln.bias.copy_(w[p + name + ".beta"])
                b.qkv.weight.copy_(torch.cat([w[p + f"attn.w{m}"].T for m in "qkv"]))
                b.qkv.bias.copy_(torch.cat([w[p + f"attn.b{m}"] for m in "qkv"]))
                for lin, wn, bn in ((b.o, "attn.wo", "attn.bo"), (b.w1, "ffn.w1", "ffn.b1"), (b.w2, "ffn.w2", "ffn.b2")):
                    lin.weight.copy_(w[p + wn].T)
                    lin.bias.copy_(w[p + bn])
            model.final.weight.copy_(w["final_ln.gamma"])
            model.final.bias.copy_(w["final_ln.beta"])
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.98), eps=1e-8, fused=True)
    g = lambda a: torch.from_numpy(np.ascontiguousarray(a)).to(dev)  # noqa: E731
    tr_x, tr_y = g(d["tr_inputs"]), g(d["tr_targets"])
    ev = {n: dict(x=g(d[n]["inputs"]), y=g(d[n]["targets"]), sr=g(d[n]["seen_rows"]), sc=g(d[n]["seen_cols"]),
                  seen_rows=d[n]["seen_rows"]) for n in ("valid", "test")}
    ids = torch.arange(C, device=dev)
    logq = math.log(K / C)  # log(K * q(c)), q = 1/C uniform

    def cce_minus(h, t, neg=None):
        """CCE- of hidden rows h [N, D] with targets t [N]: K uniform negatives per row, logQ, hits removed."""
        W = model.item.weight[:C]
        if neg is None:
            neg = torch.randint(0, C, (h.shape[0], K), device=dev)
        if args.neg_impl == "logits":
            logits = h @ W.T
            pos = logits.gather(1, t[:, None])
            s = logits.gather(1, neg)
        else:
            pos = (h * W[t]).sum(-1, keepdim=True)
            s = torch.bmm(W[neg], h[:, :, None])[:, :, 0]
        s = (s - logq).masked_fill(neg == t[:, None], -math.inf)
        return (torch.logsumexp(torch.cat([pos, s], 1), 1) - pos[:, 0]).mean()

    @torch.no_grad()
    def evaluate(split, protocols, limit=None, raw=False):
        model.eval()
        e = ev[split]
        n = e["y"].shape[0] if limit is None else limit
        ranks = {p: [] for p in protocols}
        for a in range(0, n, args.eval_batch):
            b = min(n, a + args.eval_batch)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
                h = model(e["x"][a:b])[:, -1, :]
            scores = h.float() @ model.item.weight[:C].T
            rows = torch.arange(b - a, device=dev)
            for p in protocols:  # 'kept' first: 'removed' overwrites the seen scores
                seen = (None, None)
                if p == "removed":
                    lo, hi = np.searchsorted(e["seen_rows"], [a, b]).tolist()
                    seen = (e["sr"][lo:hi] - a, e["sc"][lo:hi])
                ranks[p].append(rank_of_targets(scores, e["y"][a:b], ids, rows, *seen))
        model.train()
        if raw:
            return {p: torch.cat(r).cpu().numpy() for p, r in ranks.items()}
        return {p: ndcg_hr(torch.cat(r).cpu().numpy()) for p, r in ranks.items()}

    if args.self_test:
        return self_test(args, d, model, opt, evaluate, cce_minus, ev, g, torch)

    select = "removed" if args.remove_seen else "kept"
    nt, steps = len(d["tr_users"]), math.ceil(len(d["tr_users"]) / B)
    print(json.dumps(dict(event="start", torch=torch.__version__, device=torch.cuda.get_device_name(),
                          users=U, items=C, max_len=L, train_users=nt, steps_per_epoch=steps, hidden=D, blocks=NB,
                          heads=H, dropout=P, negatives=K, batch_size=B, lr=args.lr, epochs=args.epochs,
                          patience=args.patience, select_on=f"valid ndcg@10, seen {select}", amp=args.amp,
                          neg_impl=args.neg_impl, setup_s=round(time.time() - T0, 2))), flush=True)
    best, best_epoch, bad, best_state, t_best, train_times = -math.inf, -1, 0, None, None, []
    stopped = f"all {args.epochs} epochs"
    model.train()
    for epoch in range(args.epochs):
        torch.cuda.synchronize()
        t0 = time.time()
        if args.shuffle == "cutrec":  # a Python loop of ~22k swaps: ~20 ms an epoch
            perm = CutrecRng(args.seed, epoch).permutation(nt)
        else:
            perm = np.random.default_rng((args.seed, epoch)).permutation(nt)
        flat, offs = epoch_plan(perm, d["tr_nvalid"], B, L)
        perm_g, flat_g = g(perm), g(flat)
        loss_sum = torch.zeros((), device=dev)
        for s in range(steps):
            rows_u = perm_g[s * B : (s + 1) * B]
            x, y = tr_x[rows_u], tr_y[rows_u]
            idx = flat_g[offs[s] : offs[s + 1]]
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
                h = model(x)
            loss = cce_minus(h.reshape(-1, D)[idx].float(), y.reshape(-1)[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.detach()
        train_loss = loss_sum.item() / steps  # waits for the epoch's last step
        t1 = time.time()
        train_times.append(t1 - t0)
        value = evaluate("valid", [select])[select]
        t2 = time.time()
        improved = value[0] > best
        if improved:
            best, best_epoch, bad, t_best = value[0], epoch, 0, t2
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            bad += 1
        print(json.dumps(dict(epoch=epoch, train_s=round(t1 - t0, 3), valid_s=round(t2 - t1, 3), loss=round(train_loss, 5),
                              valid_ndcg10=round(value[0], 5), valid_hr10=round(value[1], 5), best=improved,
                              elapsed_s=round(t2 - T0, 2))), flush=True)
        if args.patience > 0 and bad >= args.patience and epoch + 1 < args.epochs:
            stopped = f"early stop: {args.patience} epochs without a better validation ndcg@10"
            break
        if time.time() - T0 > 60 * args.max_minutes:
            stopped = f"time cap: --max-minutes {args.max_minutes} (not converged)"
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    test = evaluate("test", ["kept", "removed"])
    t_end = time.time()
    print(json.dumps(dict(
        minutes_to_best=round(((t_best or t_end) - T0) / 60, 3), minutes_total=round((t_end - T0) / 60, 3),
        best_epoch=best_epoch, epochs=epoch + 1, stopped=stopped, valid_ndcg10_best=round(best, 5), select_on=select,
        test_ndcg10_removed=round(test["removed"][0], 5), test_hr10_removed=round(test["removed"][1], 5),
        test_ndcg10_kept=round(test["kept"][0], 5), test_hr10_kept=round(test["kept"][1], 5),
        seconds_per_epoch=round(float(np.mean(train_times)), 3),
        seconds_per_epoch_median=round(float(np.median(train_times)), 3),
        peak_gib=round(torch.cuda.max_memory_allocated() / 2**30, 3), amp=args.amp, neg_impl=args.neg_impl,
        torch=torch.__version__, device=torch.cuda.get_device_name())), flush=True)
    return 0


# cutrec's own numbers for --self-test (dump_cutrec_model.mjs: the tfjs engine on the CPU, seed 0,
# the default model): the eval-mode last hidden state of validation users 0-3 at initialisation
# (its first 8 values, and h . (0, 1, ..., 63)/64), metrics of the untrained model on validation
# users 0-1999, and the losses of steps 0, 1, 2 with dropout 0 on epoch 0's first batch.
CUTREC_REF = {
    "first8": [[0.17227, -1.142465, 0.614595, -1.380939, -0.267507, -0.453429, 0.570885, -1.420799],
               [0.411029, 1.445238, -0.91065, -1.452116, 0.907809, -1.591495, 0.022255, 1.200225],
               [-0.027292, -0.216087, 1.212871, -0.206798, -0.380661, 1.40609, -0.592138, -1.640437],
               [-0.490077, -1.180701, -0.420632, -0.607663, -0.715099, -0.309919, -0.316332, -2.194899]],
    "wsum": [-1.04307, -3.58667, -1.40411, 4.71355],
    "valid_users": 2000,
    "kept": {"ndcg@10": 0.00075, "hr@1000": 0.0895, "mrr": 0.0012173680280594744},
    "removed": {"ndcg@10": 0.0008154648767857288, "hr@1000": 0.0895, "mrr": 0.001307611775096361},
    "losses_dropout0": [9.875712394714355, 9.590609550476074, 9.311931610107422],
}


def self_test(args, d, model, opt, evaluate, cce_minus, ev, g, torch):
    """The PyTorch model against cutrec's own numbers (CUTREC_REF); prints PASS/FAIL lines, returns 0 when all pass."""
    fails = []

    def check(name, ok, detail):
        print(f"{'PASS' if ok else 'FAIL'} {name}: {detail}", flush=True)
        if not ok:
            fails.append(name)

    C, L, K, B = d["C"], d["L"], args.negatives, args.batch_size
    with torch.no_grad():
        model.eval()
        h = model(ev["valid"]["x"][:4])[:, -1, :].double().cpu().numpy()
        model.train()
    err = float(np.abs(h[:, :8] - np.array(CUTREC_REF["first8"])).max())
    werr = float(np.abs(h @ (np.arange(64) / 64) - np.array(CUTREC_REF["wsum"])).max())
    check("eval forward at init, validation users 0-3", err < 1e-4 and werr < 1e-3, f"max |diff| {err:.2e} (first 8), {werr:.2e} (weighted sum)")
    n = CUTREC_REF["valid_users"]
    ranks = evaluate("valid", ["kept", "removed"], limit=n, raw=True)
    for p, r in ranks.items():
        got = {"ndcg@10": ndcg_hr(r, 10)[0], "hr@1000": ndcg_hr(r, 1000)[1], "mrr": float((1.0 / (r + 1)).mean())}
        want = CUTREC_REF[p]
        ok = abs(got["ndcg@10"] - want["ndcg@10"]) < 3e-4 and abs(got["hr@1000"] - want["hr@1000"]) <= 1.01 / n
        ok &= abs(got["mrr"] - want["mrr"]) < 1e-3 * want["mrr"]
        check(f"untrained model, validation users 0-{n - 1}, seen {p}", ok,
              " ".join(f"{k} {got[k]:.6g} (cutrec {want[k]:.6g})" for k in got))
    # three steps with dropout 0 on cutrec's first batch, with cutrec's negatives: init, loss, AdamW
    nt = len(d["tr_users"])
    perm = CutrecRng(args.seed, 0).permutation(nt)[:B]
    flat, _ = epoch_plan(perm, d["tr_nvalid"], B, L)
    x, y = g(d["tr_inputs"][perm]), g(d["tr_targets"][perm])
    idx = g(flat)
    model.p = 0.0
    losses = []
    for step in range(3):
        neg = g(cutrec_negatives(flat, K, step, C, args.seed))
        hh = model(x)
        loss = cce_minus(hh.reshape(-1, args.hidden)[idx].float(), y.reshape(-1)[idx], neg)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    model.p = args.dropout
    want = CUTREC_REF["losses_dropout0"]
    err = max(abs(a - b) / b for a, b in zip(losses, want))
    check("losses of steps 0-2 (dropout 0, cutrec's batch and negatives)", err < 2e-4,
          f"{[round(v, 6) for v in losses]} vs cutrec {[round(v, 6) for v in want]} (max rel diff {err:.1e})")
    print(json.dumps({"self_test": "ok" if not fails else "FAILED", "failed": fails, "amp": args.amp,
                      "neg_impl": args.neg_impl, "torch": torch.__version__, "device": torch.cuda.get_device_name()}))
    return 1 if fails else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("data", help="Beauty.txt (SASRec text: user item item ...)")
    ap.add_argument("--check-data", metavar="DUMP_DIR", help="numpy only: compare with dump_cutrec.mjs's output")
    ap.add_argument("--remove-seen", action="store_true", help="select on validation with seen items removed (cutrec --remove-seen)")
    ap.add_argument("--amp", choices=["fp32", "bf16"], default="fp32")
    ap.add_argument("--neg-impl", choices=["logits", "gather"], default="logits")
    ap.add_argument("--init", choices=["cutrec", "torch"], default="cutrec",
                    help="cutrec: its exact initial weights (Philox port); torch: the same distributions from torch's RNG")
    ap.add_argument("--shuffle", choices=["numpy", "cutrec"], default="numpy",
                    help="epoch order: numpy's default_rng((seed, epoch)), or cutrec's exact sfc32 shuffle")
    ap.add_argument("--self-test", action="store_true",
                    help="on the GPU, in seconds: compare with cutrec's own numbers (init forward, ranks, 3 losses) and exit")
    ap.add_argument("--epochs", type=int, default=200)
    ap.add_argument("--patience", type=int, default=15)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--weight-decay", type=float, default=0.0)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--negatives", type=int, default=1024)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--heads", type=int, default=2)
    ap.add_argument("--blocks", type=int, default=2)
    ap.add_argument("--dropout", type=float, default=0.5)
    ap.add_argument("--eval-batch", type=int, default=4096, help="users per scoring chunk")
    ap.add_argument("--max-minutes", type=float, default=7.0, help="safety cap on the whole run's wall time")
    args = ap.parse_args()
    if args.self_test and (args.init != "cutrec" or args.seed != 0 or args.negatives != 1024 or args.lr != 2e-3
                           or args.amp != "fp32" or args.hidden != 64 or args.blocks != 2 or args.heads != 2):
        ap.error("--self-test compares with cutrec's default model in fp32: leave the model, --init, --seed, "
                 "--negatives, --lr and --amp at their defaults")
    if args.check_data:
        return check_data(args.data, args.check_data)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
