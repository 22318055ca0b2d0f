r"""Hyper-Know: knowledge-enhanced top-K recommendation in the Poincaré ball
(Ma et al., AAAI 2021), with every row of its ablation (Table 3) from one
code path."""
from __future__ import annotations

from typing import Dict, Optional, Tuple, Union

import torch
from torch import Tensor, nn
from torch_geometric.data import HeteroData

from ...data.hetero import RELATES
from ...data.history import InteractionCSR
from ...data.kg import KGNeighbourhoods
from ...manifolds import Euclidean, Manifold, PoincareBall
from ..conv import HyperbolicKGAttention
from ..losses import l2_penalty
from .base import PointRecommender, _rename_score_keyword, _score_kind_from_score

__all__ = ["HyperKnow", "ABLATIONS", "FIXED_BETA"]

KG_MODES = ("attention", "average", None)
#: Preference scores of :class:`HyperKnow` (both rank items alike).
HYPERKNOW_SCORES = ("distance", "sqdist")
#: The fixed beta of Table 3 rows 3-5 unless given (Eq. 8).
FIXED_BETA = 1.0

#: Hyper-Know Table 3, row name -> configuration: only the geometry, the KG
#: mode and the kind of beta differ (rows without ``beta`` use a fixed one).
#: Build a row with :meth:`HyperKnow.ablation`.
ABLATIONS: Dict[str, dict] = {
    "BPR+E": dict(manifold="euclidean", kg=None),                      # (1)
    "BPR+H": dict(manifold="poincare", kg=None),                       # (2)
    "BPR+Att+E": dict(manifold="euclidean", kg="attention"),           # (3)
    "BPR+Att+H": dict(manifold="poincare", kg="attention"),            # (4)
    "BPR+Avg+H": dict(manifold="poincare", kg="average"),              # (5)
    "Hyper-Know": dict(manifold="poincare", kg="attention", beta="adaptive"),  # (6)
}


class HyperKnow(PointRecommender):
    r"""Hyper-Know from `"Knowledge-Enhanced Top-K Recommendation in Poincaré
    Ball" <https://arxiv.org/abs/2101.04852>`_ (Ma et al., AAAI 2021).

    Users :math:`\mathbf u`, items :math:`\mathbf v`, KG entities
    :math:`\mathbf t` and relations :math:`\mathbf r` are points of the
    Poincaré ball :math:`\mathbb B^d_c`. Preference is distance (Eq. 1, 3):

    .. math::
        s(u, v) = -d_{\mathbb B}(\mathbf u, \mathbf v),\qquad
        \mathcal L_R(u, v, v') = -\ln\sigma\big(d_{\mathbb B}(\mathbf u,\mathbf v')
        - d_{\mathbb B}(\mathbf u, \mathbf v)\big)

    (the ranking loss itself is the trainer's :func:`~hypgraph.nn.bpr_loss`;
    ``score_kind='sqdist'`` takes :math:`-d_{\mathbb B}^2` instead, the same
    ranking with a different loss).
    Each item's neighbourhood point :math:`\mathbf n_v` is the
    attention-weighted Einstein midpoint of its KG neighbours (Eq. 4-6,
    :class:`~hypgraph.nn.conv.HyperbolicKGAttention`, computed only for the
    items of a batch), and the KG regulariser pulls the item towards it:

    .. math::
        \mathcal L_K(v) = d_{\mathbb B}(\mathbf v, \mathbf n_v),\qquad
        \mathcal L = \mathcal L_R + \beta\,\mathcal L_K(v)\ \text{(Eq. 8)}
        \quad\text{or}\quad \mathcal L_R + \sigma(\beta_v)\,\mathcal L_K(v)\ \text{(Eq. 9)}

    plus :math:`\lambda\lVert\Theta\rVert^2` on the rows of the parameters the
    batch reads (Eq. 13 writes the Frobenius norm; here, as
    :func:`~hypgraph.nn.l2_penalty`, its square per interaction, the usual
    weight decay).
    As in Eq. 8 the KG term is taken for the positive item :math:`v` of each
    training triple :math:`(u, v, v')`. Items without KG triples have no
    :math:`\mathcal L_K` (their neighbourhood would be the origin).

    :meth:`auxiliary_loss` returns everything but :math:`\mathcal L_R`, so
    :class:`~hypgraph.train.Trainer` trains Eq. 8; the adaptive
    :math:`\sigma(\beta_v)` of Eq. 9 must be learned by
    :class:`~hypgraph.train.BilevelTrainer` (Eq. 10-12): minimising Eq. 9
    directly drives every :math:`\beta_v` to :math:`-\infty`, as the paper
    notes.

    **Ablations.** :meth:`ablation` builds each row of Table 3 by name
    (:data:`ABLATIONS`): ``manifold=Euclidean()`` is "E", ``kg='average'`` is
    "Avg" (unweighted midpoint), ``kg=None`` is plain BPR, and the full model
    is ``beta='adaptive'``; everything else is the same code.

    **Parameterisation.** ``parameterization='manifold'`` (the paper's)
    stores users, items and entities as points of the ball, for
    :class:`~hypgraph.optim.RiemannianAdam` /
    :class:`~hypgraph.optim.RiemannianSGD`; ``'tangent'`` stores tangent
    vectors at the origin mapped by ``expmap0`` when read (only the rows a
    batch reads), for any :mod:`torch.optim` optimiser, with
    :math:`\lambda\lVert\Theta\rVert^2` then on the tangent vectors (see
    :class:`~hypgraph.optim.TangentTable` for the trade-off). The relation
    embeddings are tangent vectors at the origin in both (a parameter of
    :class:`~hypgraph.nn.conv.HyperbolicKGAttention`, small and dense).
    With ``sparse=True`` the point tables get sparse row gradients
    (:meth:`point_parameters` to a sparse optimiser, the rest to a dense one).

    Args:
        num_users (int): Number of users.
        num_items (int): Number of items.
        num_entities (int): Number of KG entities.
        num_relations (int): Number of KG relation types :math:`R`.
        dim (int): Dimension :math:`d` (default: ``64``, as in the paper).
        manifold (Manifold, optional): (default: :obj:`PoincareBall(k=1.0)`)
        kg (str, optional): ``'attention'`` (Eq. 4-5), ``'average'`` or
            ``None`` (no KG) (default: ``'attention'``).
        beta (float or str): Fixed :math:`\beta` of Eq. 8, or ``'adaptive'``
            for per-item :math:`\sigma(\beta_v)` (Eq. 9) (default: ``'adaptive'``).
        beta_init (float): Initial :math:`\beta_v` (default: ``0.0``, i.e.
            :math:`\sigma = 0.5`).
        l2 (float): :math:`\lambda` of Eq. 13 (default: ``0.0``).
        neighbourhoods (KGNeighbourhoods, optional): The items' KG triples;
            required for ``kg != None`` before training (or use
            :meth:`from_data`).
        num_neighbour_samples (int, optional): Sample this many triples per
            item per batch, with replacement (KGCN-style fixed-size
            neighbourhoods: the cost of a batch no longer grows with the
            largest neighbourhood); ``None`` uses all (default: ``8``, what
            the ``hyperknow`` benchmarks use and report).
        inverse_relations (bool): The neighbourhoods carry reversed triples
            (:class:`~hypgraph.data.KGNeighbourhoods`), so ``2R`` relation
            embeddings are learned (default: ``True``).
        init_std (float): Per-coordinate std of the Gaussian tangent vectors
            mapped by ``expmap0`` at initialisation (default: ``0.01``).
        parameterization (str): How the user, item and entity tables hold
            their points: ``'manifold'`` or ``'tangent'``
            (:data:`~hypgraph.optim.PARAMETERIZATIONS`; default: ``'manifold'``).
        sparse (bool): Sparse row gradients for those tables (default: ``False``).
        score_kind (str): Preference :math:`-d` (``'distance'``, Eq. 1) or
            :math:`-d^2` (``'sqdist'``) (default: ``'distance'``). Before 0.2
            this keyword was ``score`` (the name of the method): ``score=``
            still works for one release with a :class:`DeprecationWarning`.

    Shapes:
        - **forward:** users :math:`(B)`, positives :math:`(B)`, negatives
          :math:`(B, k)` :math:`\to` scores :math:`(B)`, :math:`(B, k)`
        - **rank_scores:** user points :math:`(B, d)` :math:`\to` :math:`(B, |\mathcal I|)`
    """

    def __init__(self, num_users: int, num_items: int, num_entities: int, num_relations: int,
                 dim: int = 64, manifold: Optional[Manifold] = None, kg: Optional[str] = "attention",
                 beta: Union[float, str] = "adaptive", beta_init: float = 0.0, l2: float = 0.0,
                 neighbourhoods: Optional[KGNeighbourhoods] = None,
                 num_neighbour_samples: Optional[int] = 8, inverse_relations: bool = True,
                 init_std: float = 0.01, *, parameterization: str = "manifold", sparse: bool = False,
                 score_kind: str = "distance", score: Optional[str] = None) -> None:
        super().__init__()
        score_kind = _score_kind_from_score(score_kind, score, "HyperKnow")
        manifold = PoincareBall(k=1.0) if manifold is None else manifold
        if score_kind not in HYPERKNOW_SCORES:
            raise ValueError(f"score_kind must be one of {HYPERKNOW_SCORES}, got {score_kind!r}")
        if kg not in KG_MODES:
            raise ValueError(f"kg must be one of {KG_MODES}, got {kg!r}")
        if not (beta == "adaptive" or (isinstance(beta, (int, float)) and beta >= 0)):
            raise ValueError(f"beta must be a number >= 0 or 'adaptive', got {beta!r}")
        if min(num_users, num_items, dim) < 1 or min(num_entities, num_relations) < 0:
            raise ValueError(f"need num_users, num_items, dim >= 1 and num_entities, num_relations >= 0, "
                             f"got {num_users}, {num_items}, {dim}, {num_entities}, {num_relations}")
        if kg is not None and (num_entities < 1 or num_relations < 1):
            raise ValueError(f"kg={kg!r} needs num_entities >= 1 and num_relations >= 1, "
                             f"got {num_entities} and {num_relations}")
        if l2 < 0 or init_std <= 0:
            raise ValueError(f"need l2 >= 0 and init_std > 0, got {l2} and {init_std}")
        if num_neighbour_samples is not None and num_neighbour_samples < 1:
            raise ValueError(f"num_neighbour_samples must be >= 1 or None, got {num_neighbour_samples}")
        self.num_users, self.num_items, self.num_entities = num_users, num_items, num_entities
        self.num_relations, self.dim, self.manifold, self.kg = num_relations, dim, manifold, kg
        self.l2, self.init_std, self.num_neighbour_samples = l2, init_std, num_neighbour_samples
        self.score_kind = score_kind
        self.beta = beta if beta == "adaptive" else float(beta)
        self.beta_init = float(beta_init)
        self.num_relation_ids = num_relations * (2 if inverse_relations else 1)
        width = manifold.coord_dim(dim)
        self.register_point_table("user", num_users, dim, parameterization, sparse=sparse)
        self.register_point_table("item", num_items, dim, parameterization, sparse=sparse)
        if kg is None:
            self.register_parameter("entity", None)
            self.attention = None
        else:
            self.register_point_table("entity", num_entities, dim, parameterization, sparse=sparse)
            self.attention = HyperbolicKGAttention(width, self.num_relation_ids, manifold,
                                                   attention=kg == "attention")
        if kg is not None and beta == "adaptive":
            self.beta_logit = nn.Parameter(torch.empty(num_items))
        else:
            self.register_parameter("beta_logit", None)
        self.neighbourhoods: Optional[KGNeighbourhoods] = None
        if neighbourhoods is not None:
            self.set_neighbourhoods(neighbourhoods)
        self.reset_parameters()

    # --- construction -----------------------------------------------------
    @classmethod
    def from_data(cls, data: HeteroData, *, inverse_relations: bool = True, **kwargs) -> "HyperKnow":
        r"""A model sized for :obj:`data` (the project's :class:`HeteroData`)
        with its :class:`~hypgraph.data.KGNeighbourhoods` attached (data
        without a KG is fine for ``kg=None``)."""
        _rename_score_keyword(kwargs, "HyperKnow.from_data")
        if kwargs.get("kg", "attention") is None:
            num_entities = data["entity"].num_nodes if "entity" in data.node_types else 0
            num_relations = int(data[RELATES].num_relations) if RELATES in data.edge_types else 0
            return cls(data["user"].num_nodes, data["item"].num_nodes, num_entities, num_relations,
                       inverse_relations=inverse_relations, **kwargs)
        neighbourhoods = KGNeighbourhoods.from_hetero(data, inverse=inverse_relations)
        return cls(data["user"].num_nodes, data["item"].num_nodes, data["entity"].num_nodes,
                   neighbourhoods.num_base_relations, neighbourhoods=neighbourhoods,
                   inverse_relations=inverse_relations, **kwargs)

    @classmethod
    def ablation(cls, name: str, *args, data: Optional[HeteroData] = None, **kwargs) -> "HyperKnow":
        r"""The configuration of row :obj:`name` of Hyper-Know Table 3
        (:data:`ABLATIONS`: ``'BPR+E'``, ``'BPR+H'``, ``'BPR+Att+E'``,
        ``'BPR+Att+H'``, ``'BPR+Avg+H'``, ``'Hyper-Know'``). Rows 3-5 use a
        fixed :math:`\beta` (default :data:`FIXED_BETA`; pass ``beta=`` for the
        Fig. 2 sweep); row 6 is ``beta='adaptive'`` and belongs with
        :class:`~hypgraph.train.BilevelTrainer`. Other arguments go to
        :meth:`from_data` (with ``data=``) or to the constructor; ``manifold=``
        may set another curvature for the hyperbolic rows but not change the
        row's geometry."""
        if name not in ABLATIONS:
            raise ValueError(f"unknown ablation {name!r}; expected one of {list(ABLATIONS)}")
        _rename_score_keyword(kwargs, "HyperKnow.ablation")
        config = dict(ABLATIONS[name])
        euclidean = config.pop("manifold") == "euclidean"
        manifold = kwargs.pop("manifold", None)
        if manifold is None:
            manifold = Euclidean() if euclidean else PoincareBall(k=1.0)
        elif manifold.is_flat != euclidean:
            raise ValueError(f"ablation {name!r} is {'Euclidean' if euclidean else 'hyperbolic'}, "
                             f"got manifold={manifold}")
        adaptive = config.get("beta") == "adaptive"
        if "beta" in kwargs and (kwargs["beta"] == "adaptive") != adaptive:
            raise ValueError(f"ablation {name!r} has {'an adaptive' if adaptive else 'a fixed'} beta, "
                             f"got beta={kwargs['beta']!r}")
        kwargs.setdefault("beta", "adaptive" if adaptive else FIXED_BETA)
        kwargs.update(manifold=manifold, kg=config["kg"])
        if data is not None:
            return cls.from_data(data, *args, **kwargs)
        return cls(*args, **kwargs)

    def set_neighbourhoods(self, neighbourhoods: KGNeighbourhoods) -> None:
        """Attach the items' KG triples (checked against the model's sizes)."""
        neighbourhoods.check_sizes(self.num_items, self.num_entities, self.num_relation_ids)
        self.neighbourhoods = neighbourhoods.to(self.item.device)

    @torch.no_grad()
    def reset_parameters(self, generator: Optional[torch.Generator] = None) -> None:
        """Points from Gaussian tangent vectors at the origin (std :obj:`init_std`)."""
        for name, table in self.point_tables.items():
            weight = getattr(self, name)
            tangent = self.manifold.random_tangent0(table.num_points, self.manifold.coord_dim(self.dim),
                                                    std=self.init_std, generator=generator,
                                                    dtype=weight.dtype, device=weight.device)
            table.reset_parameters(weight, tangent=tangent)
        if self.attention is not None:
            self.attention.reset_parameters()
        if self.beta_logit is not None:
            self.beta_logit.fill_(self.beta_init)

    def _apply(self, fn, recurse: bool = True):
        out = super()._apply(fn, recurse)
        if self.neighbourhoods is not None:  # index tensors follow device moves
            self.neighbourhoods.apply(lambda t: fn(t) if not t.is_floating_point() else t)
        return out

    # --- recommendation (Eq. 1, 3) ----------------------------------------
    def user_points(self, users: Tensor, history: Optional[InteractionCSR] = None) -> Tensor:
        """Points of :obj:`users` ``[B]`` (their own embeddings; the history is unused)."""
        return self.points("user", users)

    # --- knowledge graph (Eq. 4-9, 13) --------------------------------------
    def _batch_graph(self, items: Tensor, generator: Optional[torch.Generator]):
        # the distinct items of a batch and their (possibly sampled) triples
        if self.neighbourhoods is None:
            raise ValueError(f"kg={self.kg!r} needs the items' KG triples: pass neighbourhoods= "
                             f"or build the model with HyperKnow.from_data")
        unique, inverse = torch.unique(items, return_inverse=True)
        edge_index, edge_type = self.neighbourhoods.neighbours(unique, self.num_neighbour_samples, generator)
        return unique, inverse, edge_index, edge_type

    def _kg_terms(self, items: Tensor, generator: Optional[torch.Generator]):
        # per-item L_K of the distinct items, the map back, and the entities read
        unique, inverse, edge_index, edge_type = self._batch_graph(items, generator)
        points = self.points("item", unique)
        # the entities the triples read (all of them when reading the table is free)
        entities, local = self.gather_points("entity", edge_index[0])
        n_v = self.attention(points, entities, torch.stack([local, edge_index[1]]), edge_type)  # Eq. 4-6
        has = torch.bincount(edge_index[1], minlength=unique.numel()) > 0
        distance = self.manifold.dist(points, n_v)  # Hyper-Know Eq. 7
        # no regulariser for items without triples (n_v would be the origin)
        return torch.where(has, distance, torch.zeros_like(distance)), inverse, n_v, has, edge_index[0]

    def neighbourhood_points(self, items: Tensor, generator: Optional[torch.Generator] = None
                             ) -> Tuple[Tensor, Tensor]:
        r"""``(n_v, has_neighbours)`` for ``[n]`` items: the neighbourhood points
        of Eq. 5 (``[n, d]``; the origin for items without triples) and a
        ``[n]`` mask of the items that have triples."""
        if self.kg is None:
            raise ValueError("a model with kg=None has no neighbourhood points")
        _, inverse, n_v, has, _ = self._kg_terms(items, generator)
        return n_v[inverse], has[inverse]

    def kg_loss(self, items: Tensor, generator: Optional[torch.Generator] = None) -> Tensor:
        r"""Per-item KG regulariser :math:`\mathcal L_K(v) = d(\mathbf v, \mathbf n_v)`
        (Eq. 7), ``[n]``, unreduced and unweighted; 0 for items without triples
        (and everywhere when ``kg=None``)."""
        if self.kg is None:
            return self.item.new_zeros(items.shape)
        loss, inverse, _, _, _ = self._kg_terms(items, generator)
        return loss[inverse]

    def kg_weight(self, items: Tensor) -> Tensor:
        r"""The weight of :math:`\mathcal L_K` for each item: :math:`\sigma(\beta_v)`
        (Eq. 9) or the fixed :math:`\beta` (Eq. 8), ``[n]``."""
        if self.beta_logit is not None:
            return torch.sigmoid(self.beta_logit[items])  # Hyper-Know Eq. 9
        return self.item.new_full(items.shape, 0.0 if self.kg is None else self.beta)

    def auxiliary_loss(self, users: Tensor, pos_items: Tensor, neg_items: Tensor, *,
                       generator: Optional[torch.Generator] = None) -> Tensor:
        r"""Everything in the training objective except the ranking loss:
        :math:`\operatorname{mean}_b\, w(v_b)\,\mathcal L_K(v_b) + \lambda\lVert\Theta_{batch}\rVert^2`
        with :math:`w` from :meth:`kg_weight` (Eq. 8/9 and 13); a scalar."""
        total = self.item.new_zeros(())
        entities = None
        if self.kg is not None:
            loss, inverse, _, _, entities = self._kg_terms(pos_items, generator)
            total = total + (self.kg_weight(pos_items) * loss[inverse]).mean()  # Eq. 8 / Eq. 9
        if self.l2 > 0:  # Hyper-Know Eq. 13
            rows = [self.stored_rows("user", users), self.stored_rows("item", pos_items),
                    self.stored_rows("item", neg_items)]
            if entities is not None:
                rows.append(self.stored_rows("entity", entities))
            if self.attention is not None and self.attention.relation is not None:
                rows.append(self.attention.relation)
            total = total + l2_penalty(*rows, weight=self.l2, batch_size=users.numel())
        return total

    def batch_rows(self, users: Tensor, pos_items: Tensor, neg_items: Tensor, *,
                   generator: Optional[torch.Generator] = None) -> Dict[str, Tensor]:
        r"""The rows of each embedding table that :meth:`forward` and
        :meth:`auxiliary_loss` read for this batch (parameter name -> sorted
        distinct row ids). Consumes :obj:`generator` exactly as
        :meth:`auxiliary_loss` does, so a copy of the generator predicts the
        sampled entities; :class:`~hypgraph.train.BilevelTrainer` builds its
        proxy on these rows only."""
        rows = {"user": torch.unique(users),
                "item": torch.unique(torch.cat([pos_items.flatten(), neg_items.flatten()]))}
        if self.kg is not None:
            _, _, edge_index, _ = self._batch_graph(pos_items, generator)
            rows["entity"] = torch.unique(edge_index[0])
        return rows

    def extra_repr(self) -> str:
        beta = "'adaptive'" if self.beta == "adaptive" else f"{self.beta:g}"
        return (f"num_users={self.num_users}, num_items={self.num_items}, dim={self.dim}, "
                f"manifold={self.manifold}, kg={self.kg!r}, beta={beta}"
                + ("" if self.score_kind == "distance" else f", score_kind={self.score_kind!r}")
                + self._tables_repr())
