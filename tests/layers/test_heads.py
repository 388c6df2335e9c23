"""Pair feature mappings of the heads: the cosine column beside the vectors (Riedel et al. 2017's FNC-1 MLP input)."""

from __future__ import annotations

import warnings

import torch

from textsiam.layers.heads import MlpHead, PairClassifierHead, features_width, pair_features


def test_cosine_feature_is_one_column_of_cos_u_v():
    torch.manual_seed(0)
    u, v = torch.randn(5, 7), torch.randn(5, 7)
    u[2] = 3.0 * v[2]  # a parallel pair: cosine 1
    out = pair_features(u, v, ["concat", "cosine"])
    assert out.shape == (5, 15) == (5, features_width(7, ["concat", "cosine"]))
    torch.testing.assert_close(out[:, :14], torch.cat([u, v], dim=-1), rtol=0, atol=0)  # copied, exact
    expected = torch.tensor([float(u[i] @ v[i] / (u[i].norm() * v[i].norm())) for i in range(5)])
    # float32 rounding of a 7-term dot product and two norms: a few ulps of values in [-1, 1]
    torch.testing.assert_close(out[:, 14], expected, rtol=0, atol=1e-6)
    assert abs(float(out[2, 14]) - 1.0) < 1e-6  # same float32 rounding
    # an all-zero vector (a text with no known term) gives cosine 0, not NaN
    assert float(pair_features(torch.zeros(1, 7), v[:1], ["cosine"])) == 0.0


def test_pair_classifier_reads_the_cosine_column():
    head = PairClassifierHead(4, ["unrelated", "related"], features=["concat", "cosine"], hidden=0)
    assert head.net.in_features == 9
    with torch.no_grad():
        head.net.weight.zero_()
        head.net.bias.zero_()
        head.net.weight[1, 8] = 1.0  # "related" logit = the cosine column alone
    u = torch.tensor([[1.0, 0, 0, 0], [1.0, 0, 0, 0]])
    v = torch.tensor([[2.0, 0, 0, 0], [0, 1.0, 0, 0]])
    assert head(u, v)[:, 1].tolist() == [1.0, 0.0]


def test_mlp_head_without_hidden_layer_is_one_linear_layer_built_without_warnings():
    # hidden 0 once built the hidden layers too (an empty Linear(width, 0)): torch warned on every model load
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        head = MlpHead(4, features=["abs-diff", "product", "cosine"], hidden=0)
    assert [type(m) for m in head.net] == [torch.nn.Linear]
    assert (head.net[0].in_features, head.net[0].out_features) == (9, 1)
    assert head(torch.randn(3, 4), torch.randn(3, 4)).shape == (3,)
