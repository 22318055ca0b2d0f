import math

import pytest
import torch

from hypgraph.nn.losses import bpr_loss, l2_penalty, wmrb_loss


def test_bpr_matches_eq13_and_is_stable():
    pos, neg = torch.tensor([2.0, -1.0]), torch.tensor([0.5, 3.0])
    expected = -torch.log(torch.sigmoid(pos - neg)).mean()
    assert float(bpr_loss(pos, neg)) == pytest.approx(float(expected))
    huge = bpr_loss(torch.tensor([-1e4]), torch.tensor([1e4]))
    assert torch.isfinite(huge) and float(huge) == pytest.approx(2e4)


def bpr_by_loop(pos, neg):
    # Eq. 13 term by term: -ln sigma(s_i - s_j), averaged over each row's k negatives
    return torch.stack([torch.stack([-torch.log(torch.sigmoid(p - n)) for n in row]).mean()
                        for p, row in zip(pos, neg)])


def test_multi_negative_bpr_averages_eq13_over_the_negatives():
    # closed form: s_i = 0 against s_j = 0 and ln 3 gives ln 2 and ln(1 + 3)
    pos, neg = torch.zeros(1, dtype=torch.float64), torch.tensor([[0.0, math.log(3.0)]], dtype=torch.float64)
    assert float(bpr_loss(pos, neg)) == pytest.approx(1.5 * math.log(2.0), rel=1e-15)

    g = torch.Generator().manual_seed(0)
    pos = torch.randn(5, generator=g, dtype=torch.float64).requires_grad_(True)
    neg = (3 * torch.randn(5, 4, generator=g, dtype=torch.float64)).requires_grad_(True)
    expected = bpr_by_loop(pos, neg)
    torch.testing.assert_close(bpr_loss(pos, neg, reduction="none"), expected, rtol=1e-13, atol=0)
    torch.testing.assert_close(bpr_loss(pos, neg, reduction="sum"), expected.sum(), rtol=1e-13, atol=0)
    torch.testing.assert_close(bpr_loss(pos, neg), expected.mean(), rtol=1e-13, atol=0)
    # one negative as [B] or [B, 1] is the same loss
    torch.testing.assert_close(bpr_loss(pos, neg[:, 0]), bpr_loss(pos, neg[:, :1]), rtol=0, atol=0)

    # gradient of the mean over B rows of (1/k) sum_j softplus(s_j - s_i):
    # d/ds_j = sigma(s_j - s_i) / (B k), d/ds_i = -sum_j sigma(s_j - s_i) / (B k)
    bpr_loss(pos, neg).backward()
    weight = torch.sigmoid(neg.detach() - pos.detach().unsqueeze(-1)) / neg.numel()
    torch.testing.assert_close(neg.grad, weight, rtol=1e-13, atol=0)
    torch.testing.assert_close(pos.grad, -weight.sum(-1), rtol=1e-13, atol=0)
    assert torch.autograd.gradcheck(lambda p, n: bpr_loss(p, n, reduction="none"), (pos, neg))


def test_wmrb_matches_eq15_16_by_hand():
    pos = torch.tensor([1.0])
    neg = torch.tensor([[0.5, -3.0, 1.2]])
    # hinges: |1 - 1 + 0.5|+ = 0.5, |1 - 1 - 3|+ = 0, |1 - 1 + 1.2|+ = 1.2
    assert float(wmrb_loss(pos, neg)) == pytest.approx(math.log(1 + 1.7))
    assert float(wmrb_loss(pos, neg, scale=10.0)) == pytest.approx(math.log(1 + 17.0))
    # well-separated positives give zero loss and zero gradient
    p = torch.tensor([10.0], requires_grad=True)
    wmrb_loss(p, torch.tensor([[0.0, 1.0]])).backward()
    assert float(p.grad) == 0.0


def test_loss_argument_errors():
    with pytest.raises(ValueError, match="neg_score"):
        bpr_loss(torch.zeros(3), torch.zeros(4))
    with pytest.raises(ValueError, match="reduction"):
        bpr_loss(torch.zeros(3), torch.zeros(3), reduction="avg")
    with pytest.raises(ValueError, match="margin"):
        wmrb_loss(torch.zeros(3), torch.zeros(3, 2), margin=-1)
    with pytest.raises(ValueError, match="at least one"):
        l2_penalty()


def test_l2_penalty():
    a, b = torch.ones(2, 3), torch.full((4,), 2.0)
    assert float(l2_penalty(a, b, weight=0.5, batch_size=2)) == pytest.approx(0.5 * (6 + 16) / 2)
