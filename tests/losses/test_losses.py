"""Each loss against a brute-force per-pair loop in plain Python floats, plus the invariants its docstring states."""

from __future__ import annotations

import math

import pytest
import torch

from textsiam.losses import build_loss

# ---------------------------------------------------------------------------------------------- brute-force references


def rows(t: torch.Tensor) -> list[list[float]]:
    return t.detach().double().tolist()


def distance(a: list[float], b: list[float], kind: str) -> float:
    if kind == "euclidean":
        return math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b, strict=True)))
    if kind == "manhattan":
        return sum(abs(x - y) for x, y in zip(a, b, strict=True))
    if kind == "cosine":
        return 1.0 - cosine(a, b)
    raise AssertionError(kind)


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


def contrastive(u, v, labels, margin: float, kind: str) -> float:
    total = 0.0
    for a, b, y in zip(rows(u), rows(v), labels.tolist(), strict=True):
        d = distance(a, b, kind)
        total += y * d * d / 2 + (1 - y) * max(0.0, margin - d) ** 2 / 2
    return total / len(labels)


def online_contrastive(u, v, labels, margin: float, kind: str) -> float:
    ds = [distance(a, b, kind) for a, b in zip(rows(u), rows(v), strict=True)]
    pos = [d for d, y in zip(ds, labels.tolist(), strict=True) if y >= 0.5]
    neg = [d for d, y in zip(ds, labels.tolist(), strict=True) if y < 0.5]
    hard_pos = [d for d in pos if d > min(neg)] if neg else pos
    hard_neg = [d for d in neg if d < max(pos)] if pos else neg
    terms = [d * d / 2 for d in hard_pos] + [max(0.0, margin - d) ** 2 / 2 for d in hard_neg]
    return sum(terms) / len(terms) if terms else 0.0


def chopra_exp(u, v, labels, q: float, kind: str) -> float:
    total = 0.0
    for a, b, label in zip(rows(u), rows(v), labels.tolist(), strict=True):
        e = distance(a, b, kind)
        big_y = 1 - label  # the paper's Y: 1 for a dissimilar pair
        total += (1 - big_y) * (2 / q) * e * e + big_y * 2 * q * math.exp(-2.77 * e / q)
    return total / len(labels)


def cosine_mse(u, v, labels) -> float:
    pairs = zip(rows(u), rows(v), labels.tolist(), strict=True)
    return sum((cosine(a, b) - y) ** 2 for a, b, y in pairs) / len(labels)


def cosent(u, v, labels, scale: float) -> float:
    c = [cosine(a, b) for a, b in zip(rows(u), rows(v), strict=True)]
    y = labels.tolist()
    n = len(y)
    total = 0.0
    for i in range(n):
        for j in range(n):
            if y[i] > y[j]:
                total += math.exp(scale * (c[j] - c[i]))
    return math.log(1.0 + total)


def multiple_negatives(u, v, labels, scale: float, symmetric: bool = False) -> float:
    us, vs, y = rows(u), rows(v), labels.tolist()
    n = len(y)
    anchors = [i for i in range(n) if y[i] >= 0.5]

    def direction(left, right) -> float:
        total = 0.0
        for i in anchors:
            logits = [scale * cosine(left[i], right[j]) for j in range(n)]
            total += -logits[i] + math.log(sum(math.exp(z) for z in logits))
        return total / len(anchors)

    forward = direction(us, vs)
    return (forward + direction(vs, us)) / 2 if symmetric else forward


def bce(scores, labels, pos_weight: float | None) -> float:
    w = 1.0 if pos_weight is None else pos_weight
    total = 0.0
    for z, y in zip(scores.tolist(), labels.tolist(), strict=True):
        p = 1 / (1 + math.exp(-z))
        total += -(w * y * math.log(p) + (1 - y) * math.log(1 - p))
    return total / len(labels)


# ---------------------------------------------------------------------------------------------- batches

KINDS = ("mixed", "graded", "all_pos", "all_neg", "identical", "near", "far")
SEEDS = (0, 1, 2)


def make_batch(kind: str, seed: int, n: int = 7, dim: int = 5) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Random float64 embeddings and labels; ``kind`` picks an edge case."""
    torch.manual_seed(seed)
    u = torch.randn(n, dim, dtype=torch.float64)
    v = torch.randn(n, dim, dtype=torch.float64)
    labels = (torch.rand(n, dtype=torch.float64) < 0.5).double()
    labels[0], labels[1] = 1.0, 0.0  # both classes present
    if kind == "graded":
        labels = torch.rand(n, dtype=torch.float64)
    elif kind == "all_pos":
        labels = torch.ones(n, dtype=torch.float64)
    elif kind == "all_neg":
        labels = torch.zeros(n, dtype=torch.float64)
    elif kind == "identical":
        v = u.clone()
    elif kind == "near":  # every pair well inside the margins
        v = u + 0.01 * torch.randn(n, dim, dtype=torch.float64)
    elif kind == "far":  # every pair beyond the euclidean / manhattan margins
        v = u + 20.0 * torch.randn(n, dim, dtype=torch.float64)
    return u, v, labels


def check(loss: torch.Tensor, expected: float, kind: str) -> None:
    # float64 batches of 7 x 5 against a float64 Python loop: rounding is ~1e-15, so rel 1e-6 catches any formula
    # error on any CPU. The library's L2 norm adds 1e-12 under the square root so identical pairs keep a finite
    # gradient: an identical pair sits at distance 1e-6 instead of 0, hence the looser abs for that case only.
    tol = 1e-5 if kind == "identical" else 1e-6
    assert loss.dim() == 0
    assert loss.item() == pytest.approx(expected, rel=1e-6, abs=tol)


# ---------------------------------------------------------------------------------------------- against the loops

MARGIN_LOSS_CASES = [("euclidean", 1.0), ("cosine", 0.5), ("manhattan", 2.0)]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("distance", "margin"), MARGIN_LOSS_CASES)
def test_contrastive_matches_loop(kind, distance, margin):
    loss_fn = build_loss("contrastive", margin=margin, distance=distance)
    for seed in SEEDS:
        u, v, y = make_batch(kind, seed)
        check(loss_fn(u, v, y), contrastive(u, v, y, margin, distance), kind)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("distance", "margin"), MARGIN_LOSS_CASES)
def test_online_contrastive_matches_loop(kind, distance, margin):
    if kind == "identical" and distance == "cosine":
        pytest.skip("1 - cos of identical vectors is 0 only up to rounding noise, so hard-pair ties are arbitrary")
    loss_fn = build_loss("online-contrastive", margin=margin, distance=distance)
    for seed in SEEDS:
        u, v, y = make_batch(kind, seed)
        check(loss_fn(u, v, y), online_contrastive(u, v, y, margin, distance), kind)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("distance", "q"), [("manhattan", 10.0), ("euclidean", 3.0), ("cosine", 2.0)])
def test_chopra_exp_matches_loop(kind, distance, q):
    loss_fn = build_loss("chopra-exp", q=q, distance=distance)
    for seed in SEEDS:
        u, v, y = make_batch(kind, seed)
        check(loss_fn(u, v, y), chopra_exp(u, v, y, q, distance), kind)


@pytest.mark.parametrize("kind", KINDS)
def test_cosine_matches_loop(kind):
    loss_fn = build_loss("cosine")
    for seed in SEEDS:
        u, v, y = make_batch(kind, seed)
        check(loss_fn(u, v, y), cosine_mse(u, v, y), kind)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("scale", [20.0, 1.5])
def test_cosent_matches_loop(kind, scale):
    loss_fn = build_loss("cosent", scale=scale)
    for seed in SEEDS:
        u, v, y = make_batch(kind, seed)
        check(loss_fn(u, v, y), cosent(u, v, y, scale), kind)


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "all_neg"])
@pytest.mark.parametrize("symmetric", [False, True])
@pytest.mark.parametrize("scale", [20.0, 3.0])
def test_multiple_negatives_matches_loop(kind, symmetric, scale):
    loss_fn = build_loss("multiple-negatives", scale=scale, symmetric=symmetric)
    for seed in SEEDS:
        u, v, y = make_batch(kind, seed)
        check(loss_fn(u, v, y), multiple_negatives(u, v, y, scale, symmetric), kind)


@pytest.mark.parametrize("label_kind", ["mixed", "graded", "all_pos", "all_neg"])
@pytest.mark.parametrize("pos_weight", [None, 3.0, 0.25])
def test_bce_matches_loop(label_kind, pos_weight):
    loss_fn = build_loss("bce", pos_weight=pos_weight)
    for seed in SEEDS:
        _, _, y = make_batch(label_kind, seed)
        scores = 3.0 * torch.randn(len(y), dtype=torch.float64)
        check(loss_fn(scores, y), bce(scores, y, pos_weight), label_kind)


def test_float32_inputs_match_loop():
    u, v, y = make_batch("graded", 0)
    loss = build_loss("contrastive")(u.float(), v.float(), y.float())
    assert loss.dtype == torch.float32
    # float32 distances of 5 terms and a mean of 7: a few float32 ulps (1.2e-7 each) of the float64 loop's value
    assert loss.item() == pytest.approx(contrastive(u, v, y, 1.0, "euclidean"), rel=1e-5)


@pytest.mark.parametrize("name", ["cosent", "multiple-negatives"])
def test_half_precision_inputs_are_promoted(name):
    u, v, y = make_batch("mixed", 0)
    loss = build_loss(name)(u.bfloat16(), v.bfloat16(), y.bfloat16())
    assert loss.dtype == torch.float32
    reference = build_loss(name)(u.bfloat16().double(), v.bfloat16().double(), y)
    # same bfloat16-rounded inputs, computed in float32 against float64: float32 rounding of exp/log sums over 7 rows
    # (~1e-6); 1e-4 is still 100x below what computing in bfloat16 (8 bits, ~4e-3 per value) would give
    assert loss.item() == pytest.approx(reference.item(), rel=1e-4)


# ---------------------------------------------------------------------------------------------- gradients

EMBEDDING_LOSSES = ["contrastive", "online-contrastive", "chopra-exp", "cosine", "cosent", "multiple-negatives"]


@pytest.mark.parametrize("name", EMBEDDING_LOSSES)
def test_gradients_reach_both_towers(name):
    torch.manual_seed(0)
    u = torch.randn(8, 6, requires_grad=True)
    v = (u.detach() + 0.3 * torch.randn(8, 6)).requires_grad_(True)  # pairs within every default margin
    labels = torch.tensor([1.0, 0.0, 1.0, 0.0, 0.8, 0.2, 1.0, 0.0])
    build_loss(name)(u, v, labels).backward()
    for grad in (u.grad, v.grad):
        assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0


def test_gradients_reach_scores():
    torch.manual_seed(0)
    scores = torch.randn(8, requires_grad=True)
    build_loss("bce", pos_weight=2.0)(scores, torch.rand(8)).backward()
    assert torch.isfinite(scores.grad).all() and scores.grad.abs().sum() > 0


@pytest.mark.parametrize("name", EMBEDDING_LOSSES)
def test_identical_pairs_have_finite_gradients(name):
    u = torch.randn(4, 3, requires_grad=True)
    v = u.detach().clone().requires_grad_(True)
    build_loss(name)(u, v, torch.tensor([1.0, 0.0, 1.0, 0.0])).backward()
    assert torch.isfinite(u.grad).all() and torch.isfinite(v.grad).all()


def test_cross_entropy_matches_a_brute_force_loop():
    from textsiam.losses import CrossEntropyLoss

    torch.manual_seed(0)
    logits, labels = torch.randn(5, 4), torch.tensor([0, 3, 1, 1, 2])
    expected = sum(-(logits[i, labels[i]] - torch.logsumexp(logits[i], 0)) for i in range(5)) / 5
    torch.testing.assert_close(CrossEntropyLoss()(logits, labels), expected)  # float32 defaults (rtol 1.3e-6): 5 rows
    with pytest.raises(ValueError, match=r"class indices must lie in \[0, 4\)"):
        CrossEntropyLoss()(logits, torch.tensor([0, 4, 1, 1, 2]))


def test_class_weighted_cross_entropy_is_the_weighted_mean_of_the_pair_losses():
    from textsiam.losses import CrossEntropyLoss

    torch.manual_seed(0)
    logits, labels = torch.randn(6, 4), torch.tensor([0, 3, 1, 1, 2, 3])
    weights = [1.0, 1.0, 2.0, 5.0]
    per_pair = [-(logits[i, labels[i]] - torch.logsumexp(logits[i], 0)) for i in range(6)]
    w = [weights[c] for c in labels.tolist()]
    expected = sum(wi * li for wi, li in zip(w, per_pair)) / sum(w)
    # float32 defaults (rtol 1.3e-6): a weighted sum of 6 terms
    torch.testing.assert_close(CrossEntropyLoss(class_weights=weights)(logits, labels), expected)
    # up-weighting the class of the worst-predicted pairs raises the loss above the unweighted mean
    worst = int(labels[torch.stack(per_pair).argmax()])
    up = [5.0 if k == worst else 1.0 for k in range(4)]
    assert CrossEntropyLoss(class_weights=up)(logits, labels) > CrossEntropyLoss()(logits, labels)
    assert CrossEntropyLoss(class_weights=weights).get_config()["class_weights"] == weights
    with pytest.raises(ValueError, match="class_weights has 3 entries but the head has 4 classes"):
        CrossEntropyLoss(class_weights=[1, 1, 2])(logits, labels)
    for bad in ([1.0, 0.0], [1.0, -2.0], [True, 1.0], 3.0, [1.0]):
        with pytest.raises(ValueError, match=r"loss 'cross-entropy': class_weights(\[\d\])? must be"):
            CrossEntropyLoss(class_weights=bad)
