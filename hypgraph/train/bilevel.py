r"""Adaptive, per-item KG regularisation learned by bilevel optimisation
(Hyper-Know, Eq. 10-12 and Algorithm 1)."""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import torch
from torch import Tensor, nn
from torch.profiler import record_function
from torch_geometric.data import HeteroData

from ..data.history import InteractionCSR, Interactions
from ..data.negative import PositiveSet, sample_negatives
from ..optim import functional as F
from ..optim import rows_stand_in
from .trainer import FitResult, Trainer

__all__ = ["BilevelTrainer"]

OUTER = ("validation", "train")


class _Objective(nn.Module):
    # lets torch.func.functional_call swap the model's parameters for the
    # Trainer's whole loss (forward + auxiliary_loss), not just forward
    def __init__(self, model: nn.Module, loss) -> None:
        super().__init__()
        self.model = model
        self._fn = loss

    def forward(self, *args, **kwargs) -> Tensor:
        return self._fn(*args, **kwargs)


class BilevelTrainer(Trainer):
    r"""Trains a model with per-item regularisation weights
    :math:`\sigma(\beta_v)` (e.g. :class:`~hypgraph.nn.models.HyperKnow` with
    ``beta='adaptive'``) by Hyper-Know's bilevel procedure (Eq. 10-12,
    Algorithm 1):

    .. math::
        \min_\beta J_{outer}(\Theta^*(\beta)) \quad\text{s.t.}\quad
        \Theta^*(\beta) = \arg\min_\Theta J_{inner}(\Theta, \beta)

    with :math:`J_{inner} = \mathcal L_R + \sigma(\beta_v)\mathcal L_K(v) +
    \lambda\lVert\Theta\rVert^2` (Eq. 9, 13; the model's forward plus its
    ``auxiliary_loss``) and :math:`J_{outer} = \mathcal L_R` alone. Each
    mini-batch:

    1. :math:`\Theta_{t+1} \leftarrow \mathrm{OPT}_\Theta(\Theta_t,
       \nabla_\Theta J_{inner}(\Theta_t, \beta_t))` on the training batch,
       :math:`\beta` fixed: exactly the step :class:`Trainer` takes;
    2. the proxy :math:`\tilde\Theta(\beta) = \Theta_t - \alpha\nabla_\Theta
       J_{inner}(\Theta_t, \beta)` (Eq. 12), built differentiably in
       :math:`\beta` (the inner gradient is taken with ``create_graph=True``);
    3. :math:`\beta_{t+1} \leftarrow \mathrm{OPT}_\beta(\beta_t, \nabla_\beta
       J_{outer}(\tilde\Theta(\beta_t)))` (Eq. 11), where the outer loss is
       evaluated with :func:`torch.func.functional_call` on the proxy
       parameters.

    **Which rows.** When the model has ``batch_rows(users, pos, neg,
    generator=...)`` (HyperKnow does), the inner gradient and the proxy are
    taken only for the embedding rows the batch reads; every other parameter
    (relation embeddings, a learnable curvature) is taken whole. Outer-batch
    rows the inner batch did not touch keep :math:`\tilde\Theta = \Theta`
    (their inner gradient is zero), so nothing is lost.

    **Proxy step.** On a manifold parameter Eq. 12's gradient step is the
    Riemannian SGD step :math:`\exp_x(-\alpha\,\Pi_x(g_x^{-1}\nabla))`,
    which is literally :math:`\Theta - \alpha\nabla` in Euclidean space; on
    every other parameter, including a table of tangent vectors
    (``parameterization='tangent'``, :class:`~hypgraph.optim.TangentTable`), it
    is that plain SGD step on what the parameter stores. Both are
    :func:`hypgraph.optim.functional.rsgd_step` with ``differentiable=True``
    (:meth:`proxy_step`), the very step :class:`~hypgraph.optim.RiemannianSGD`
    takes without momentum, clipping or weight decay.
    :math:`\alpha` is :obj:`proxy_lr` (default: the learning rate of the
    first group of :obj:`optimizer`).

    **Outer data.** Eq. 10 writes both problems as sums over the training
    pairs :math:`\mathcal D` and differs only in dropping the KG term; the
    paper tunes its hyper-parameters on a validation split (10% of train) and
    cites Rendle (2012) for the approximation, who fits regularisation on
    held-out data. A regulariser cannot lower the loss on the data it is
    fitted to, so the default, ``outer='validation'``, evaluates
    :math:`J_{outer}` on a batch of the validation pairs (``val_data``'s
    ``edge_label_index``, :obj:`outer_batch_size` drawn uniformly with
    replacement, negatives excluding train and validation items);
    ``outer='train'`` uses the training batch itself (Eq. 10 literally). The
    validation pairs are never used to fit :math:`\Theta`.

    The :math:`\beta` optimiser's state is checkpointed with everything else
    (:math:`\beta` itself is part of the model's state), so
    ``fit(..., resume=True)`` continues exactly.

    Args:
        model (torch.nn.Module): As for :class:`Trainer`, with
            ``auxiliary_loss``; its :math:`\beta` parameters must be in
            :obj:`beta_optimizer` and not in :obj:`optimizer`.
        optimizer (torch.optim.Optimizer): :math:`\mathrm{OPT}_\Theta`, e.g.
            :class:`~hypgraph.optim.RiemannianAdam` over
            ``[p for n, p in model.named_parameters() if n != 'beta_logit']``.
        beta_optimizer (torch.optim.Optimizer): :math:`\mathrm{OPT}_\beta`,
            e.g. ``torch.optim.Adam([model.beta_logit], lr=1e-2)`` (the
            hypergradients are small; an adaptive optimiser suits them).
        outer (str): ``'validation'`` or ``'train'`` (default: ``'validation'``).
        outer_batch_size (int, optional): Validation pairs per step
            (default: the training batch's size).
        proxy_lr (float, optional): :math:`\alpha` of Eq. 12.
        **kwargs: Everything else :class:`Trainer` takes.
    """

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer,
                 beta_optimizer: torch.optim.Optimizer, *, outer: str = "validation",
                 outer_batch_size: Optional[int] = None, proxy_lr: Optional[float] = None,
                 **kwargs) -> None:
        super().__init__(model, optimizer, **kwargs)
        if self.world_size > 1:
            raise ValueError("BilevelTrainer trains in one process: its hypergradient step is not "
                             "data-parallel yet (train Hyper-Know's fixed-beta rows with Trainer instead)")
        if outer not in OUTER:
            raise ValueError(f"outer must be one of {OUTER}, got {outer!r}")
        if outer_batch_size is not None and outer_batch_size < 1:
            raise ValueError(f"outer_batch_size must be >= 1, got {outer_batch_size}")
        if not callable(getattr(model, "auxiliary_loss", None)):
            raise ValueError(f"{type(model).__name__} has no auxiliary_loss: nothing for beta to weight")
        self.beta_optimizer, self.outer, self.outer_batch_size = beta_optimizer, outer, outer_batch_size
        self.proxy_lr = float(optimizer.param_groups[0]["lr"] if proxy_lr is None else proxy_lr)
        if not self.proxy_lr > 0:
            raise ValueError(f"proxy_lr must be > 0, got {self.proxy_lr}")
        self._theta = _named(model, optimizer, "optimizer")
        self._beta = _named(model, beta_optimizer, "beta_optimizer")
        if not self._beta:
            raise ValueError("beta_optimizer has no parameters")
        shared = {n for n, _ in self._theta} & {n for n, _ in self._beta}
        if shared:
            raise ValueError(f"{sorted(shared)} are in both optimisers; beta must be left out of the "
                             f"Theta optimiser (minimising Eq. 9 over beta directly drives it to 0)")
        self._objective = _Objective(model, self._loss)
        # point tables with sparse row gradients (sparse=True): their Theta
        # step gets a sparse gradient, as in Trainer, so the optimiser steps
        # only the rows the batch read instead of the whole table
        self._sparse = {name for name, table in getattr(model, "point_tables", {}).items() if table.sparse}
        self._outer_edges: Optional[Tensor] = None
        self._outer_known: Optional[PositiveSet] = None
        self._num_items = 0

    def fit(self, train_data: HeteroData, val_data: HeteroData, *, resume: bool = False) -> FitResult:
        train = Interactions.of(train_data, what="train_data").to(self.device)
        val_edges = Interactions.of(val_data, labels=True, what="val_data").to(self.device).labels
        self._num_items = train.num_items
        if self.outer == "validation":
            if val_edges.numel() == 0:
                raise ValueError("outer='validation' needs validation pairs (val_data's edge_label_index "
                                 "is empty); use outer='train'")
            self._outer_edges = val_edges
            # outer negatives exclude the training and the validation pairs
            self._outer_known = Interactions(train.edge_index, train.num_users, train.num_items,
                                             labels=val_edges).known
        return super().fit(train_data, val_data, resume=resume)

    # --- Algorithm 1 -----------------------------------------------------
    def _step(self, users: Tensor, pos: Tensor, neg: Tensor, history: InteractionCSR,
              generator: torch.Generator) -> Tensor:
        # regions for torch.profiler, as torch.optim marks its steps (benchmarks/kg_speed.py reads them)
        with record_function("BilevelTrainer.inner_gradient"):
            inner, leaves, grads = self._inner_gradient(users, pos, neg, history, generator)
        with record_function("BilevelTrainer.hypergradient"):
            betas, beta_grads = self._hypergradient(leaves, grads, users, pos, neg, history, generator)

        # Algorithm 1: Theta update with beta_t fixed (the gradient above), then beta
        self.optimizer.zero_grad()
        for (name, param, index, _), grad in zip(leaves, grads):
            if grad is not None:
                grad = grad.detach()
                if index is None:
                    param.grad = grad
                elif name in self._sparse:  # the rows are distinct: no duplicate entries to sum
                    param.grad = torch.sparse_coo_tensor(index.unsqueeze(0), grad, param.shape,
                                                         check_invariants=False, device=param.device)
                else:
                    param.grad = torch.zeros_like(param).index_copy_(0, index, grad)
        self.optimizer.step()
        self.beta_optimizer.zero_grad()
        for beta, grad in zip(betas, beta_grads):
            beta.grad = torch.zeros_like(beta) if grad is None else grad.detach()
        self.beta_optimizer.step()
        return inner.detach()

    def _inner_gradient(self, users: Tensor, pos: Tensor, neg: Tensor, history: InteractionCSR,
                        generator: torch.Generator):
        # (J_inner, [(name, param, rows, leaf)], grad J_inner w.r.t. each leaf, differentiable in beta)
        rows = self._batch_rows(users, pos, neg, generator)
        leaves: List[Tuple[str, Tensor, Optional[Tensor], Tensor]] = []
        inner_params: Dict[str, Tensor] = {}
        for name, param in self._theta:
            index = rows.get(name)
            base = param.detach()
            leaf = (base if index is None else base[index]).requires_grad_(True)
            inner_params[name] = leaf if index is None else rows_stand_in(base, index, leaf)
            leaves.append((name, param, index, leaf))
        # J_inner(Theta_t, beta_t) on the training batch; beta stays live
        inner = self._call(inner_params, users, pos, neg, history, generator, auxiliary=True)
        self._check_finite(inner)
        grads = torch.autograd.grad(inner, [leaf for *_, leaf in leaves], create_graph=True,
                                    allow_unused=True)
        return inner, leaves, grads

    def _hypergradient(self, leaves, grads, users: Tensor, pos: Tensor, neg: Tensor,
                       history: InteractionCSR, generator: torch.Generator):
        # Hyper-Know Eq. 12: proxy Theta~(beta) = Theta_t - alpha * grad J_inner(Theta_t, beta)
        proxy: Dict[str, Tensor] = {}
        for (name, param, index, leaf), grad in zip(leaves, grads):
            if grad is None:
                continue
            moved = self.proxy_step(param, leaf, grad)
            proxy[name] = moved if index is None else rows_stand_in(param.detach(), index, moved)
        outer_users, outer_pos, outer_neg = self._outer_batch(users, pos, neg, generator)
        # Hyper-Know Eq. 10-11: J_outer(Theta~(beta)) is the ranking loss alone
        outer = self._call(proxy, outer_users, outer_pos, outer_neg, history, None, auxiliary=False)
        betas = [b for _, b in self._beta]
        return betas, torch.autograd.grad(outer, betas, allow_unused=True)

    def _batch_rows(self, users: Tensor, pos: Tensor, neg: Tensor,
                    generator: torch.Generator) -> Dict[str, Tensor]:
        batch_rows = getattr(self.model, "batch_rows", None)
        if not callable(batch_rows):
            return {}
        # a copy of the generator: the inner loss then draws the same samples
        copy = torch.Generator(device=generator.device)
        copy.set_state(generator.get_state())
        return batch_rows(users, pos, neg, generator=copy)

    def _call(self, params: Dict[str, Tensor], *args, **kwargs) -> Tensor:
        named = {f"model.{name}": value for name, value in params.items()}
        return torch.func.functional_call(self._objective, named, args, kwargs)

    def proxy_step(self, param: Tensor, x: Tensor, grad: Tensor) -> Tensor:
        r"""Hyper-Know Eq. 12 on the rows :obj:`x` of :obj:`param` with inner
        gradient :obj:`grad`: the plain Riemannian SGD step
        (:func:`hypgraph.optim.functional.rsgd_step`, Chamberlain 2019,
        Eq. 20-22, overflow guard included) of size :attr:`proxy_lr`, built
        differentiably so that the hypergradient flows through it."""
        return F.rsgd_step(x, grad, lr=self.proxy_lr, manifold=F.manifold_of(param), differentiable=True)[0]

    def _outer_batch(self, users: Tensor, pos: Tensor, neg: Tensor,
                     generator: torch.Generator) -> Tuple[Tensor, Tensor, Tensor]:
        if self.outer == "train":
            return users, pos, neg
        size = self.outer_batch_size or users.numel()
        pick = torch.randint(self._outer_edges.size(1), (size,), generator=generator, device=generator.device)
        edges = self._outer_edges[:, pick]
        negatives = sample_negatives(edges, self._num_items, self.num_negatives, generator=generator,
                                     exclude=self._outer_known, method=self.negative_sampling)
        return edges[0], edges[1], negatives

    # --- state -----------------------------------------------------------
    def _state_dicts(self) -> dict:
        return {**super()._state_dicts(), "beta_optimizer": self.beta_optimizer.state_dict()}

    def _load_state_dicts(self, payload: dict) -> None:
        super()._load_state_dicts(payload)
        self.beta_optimizer.load_state_dict(payload["beta_optimizer"])


def _named(model: nn.Module, optimizer: torch.optim.Optimizer, what: str) -> List[Tuple[str, Tensor]]:
    names = {id(p): n for n, p in model.named_parameters()}
    out = []
    for group in optimizer.param_groups:
        for p in group["params"]:
            if id(p) not in names:
                raise ValueError(f"{what} holds a tensor of shape {tuple(p.shape)} that is not a "
                                 f"parameter of the model")
            out.append((names[id(p)], p))
    return out
