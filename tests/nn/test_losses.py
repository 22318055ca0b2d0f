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
    multi = bpr_loss(pos, torch.stack([neg, neg + 1], -1), reduction="none")
    assert multi.shape == (2,)


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
