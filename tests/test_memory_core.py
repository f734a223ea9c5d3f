"""The memory-network ops of snnsim.core, against values computed by hand."""

import math

import torch

from snnsim.core import embedding_bag, masked_softmax, memory_attention, position_encoding, temporal_encoding


def test_position_encoding_matches_the_papers_formula():
    # J = 2 words, d = 2: l_kj = (1 - j/2) - (k/2)(1 - j)
    l = position_encoding(torch.tensor(2), 3, 2)
    expected = torch.tensor([[0.5 - 0.5 * 0.0, 0.5 - 1.0 * 0.0],     # j=1: 1 - 2j/J = 0
                             [0.0 - 0.5 * -1.0, 0.0 - 1.0 * -1.0],   # j=2: 1 - 2j/J = -1
                             [0.0, 0.0]])                            # beyond the sentence
    assert torch.allclose(l, expected)
    # J = 4, d = 4, word j = 1, component k = 3: (1 - 1/4) - (3/4)(1 - 2/4) = 0.375
    assert math.isclose(float(position_encoding(torch.tensor([4]), 4, 4)[0, 0, 2]), 0.375)
    assert position_encoding(torch.tensor([[1, 3]]), 5, 6).shape == (1, 2, 5, 6)


def test_embedding_bag_sums_weighted_rows_and_skips_padding():
    table = torch.tensor([[9.0, 9.0], [1.0, 2.0], [10.0, 20.0]])
    ids = torch.tensor([[1, 2, 0], [2, 0, 0]])
    assert torch.equal(embedding_bag(table, ids), torch.tensor([[11.0, 22.0], [10.0, 20.0]]))
    w = torch.tensor([[[0.5, 1.0], [2.0, 0.0], [7.0, 7.0]]] * 2)
    assert torch.equal(embedding_bag(table, ids, w), torch.tensor([[20.5, 2.0], [5.0, 20.0]]))


def test_temporal_encoding_adds_rows_of_the_time_table():
    m = torch.zeros(1, 2, 2)
    t = torch.tensor([[1.0, 0.0], [0.0, 1.0], [5.0, 5.0]])
    assert torch.equal(temporal_encoding(m, t, torch.tensor([[2, 0]])), torch.tensor([[[5.0, 5.0], [1.0, 0.0]]]))


def test_masked_softmax_by_hand():
    s = torch.tensor([[0.0, math.log(3.0), 100.0], [1.0, 2.0, 3.0]])
    mask = torch.tensor([[True, True, False], [False, False, False]])
    p = masked_softmax(s, mask)
    assert torch.allclose(p, torch.tensor([[0.25, 0.75, 0.0], [0.0, 0.0, 0.0]]))


def test_memory_attention_one_hop_by_hand():
    q = torch.tensor([[1.0, 0.0]])
    keys = torch.tensor([[[math.log(2.0), 0.0], [0.0, 5.0], [9.0, 9.0]]])
    values = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [100.0, 100.0]]])
    mask = torch.tensor([[True, True, False]])
    o, p = memory_attention(q, keys, values, mask)
    assert torch.allclose(p, torch.tensor([[2 / 3, 1 / 3, 0.0]]))
    assert torch.allclose(o, torch.tensor([[2 / 3, 1 / 3]]))
    o, p = memory_attention(q, keys, values, mask, linear=True)
    assert torch.allclose(p, torch.tensor([[math.log(2.0), 0.0, 0.0]]))
    assert torch.allclose(o, torch.tensor([[math.log(2.0), 0.0]]))
