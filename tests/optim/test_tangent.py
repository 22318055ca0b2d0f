"""Point tables (hypgraph.optim.table): the manifold and tangent
parameterisations behind one interface; torch.optim steps on tangent tables,
exactly as Adam's formula through expmap0; sparse row gradients; stand-ins
with live rows for functional calls."""
import pytest
import torch
import torch.nn.functional as F

from hypgraph.manifolds import Lorentz, PoincareBall
from hypgraph.manifolds.lorentz import math as L
from hypgraph.manifolds.poincare import math as P
from hypgraph.optim import (PARAMETERIZATIONS, ManifoldParameter, ManifoldTable, RiemannianAdam,
                            TangentTable, point_table, rows_stand_in)

from ..manifold_cases import select

MANIFOLDS = select(["lorentz", "lorentz-k0.5", "poincare", "poincare-k2", "euclidean"])
KINDS = list(PARAMETERIZATIONS)
N, DIM = 12, 3


def filled(kind, manifold, dtype=torch.float64, sparse=False, seed=0):
    table = point_table(kind, manifold, N, DIM, sparse=sparse)
    weight = table.new_parameter(dtype=dtype)
    tangent = manifold.random_tangent0(N, manifold.coord_dim(DIM), std=0.5,
                                       generator=torch.Generator().manual_seed(seed), dtype=dtype)
    table.reset_parameters(weight, tangent=tangent)
    return table, weight


# --- the interface --------------------------------------------------------------

@pytest.mark.parametrize("name", list(MANIFOLDS))
def test_both_parameterisations_store_and_read_the_same_points(name):
    manifold = MANIFOLDS[name]()
    (mt, mw), (tt, tw) = filled("manifold", manifold), filled("tangent", manifold)
    assert type(mt) is ManifoldTable and type(tt) is TangentTable
    assert isinstance(mw, ManifoldParameter) and mw.manifold is manifold
    assert type(tw) is torch.nn.Parameter and not hasattr(tw, "manifold")
    assert mw.shape == (N, manifold.coord_dim(DIM)) and tw.shape == (N, DIM)  # hyperboloid: no time coordinate
    torch.testing.assert_close(tt.points(tw), mt.points(mw), rtol=1e-12, atol=1e-12)
    assert manifold.check_point(tt.points(tw))
    index = torch.tensor([[3, 3, 0], [11, 5, 3]])
    for table, weight in ((mt, mw), (tt, tw)):
        assert torch.equal(table.rows(weight, index), table.points(weight)[index])
        points, local = table.gather(weight, index)
        assert torch.equal(points[local], table.rows(weight, index))
    assert mt.gather(mw, index)[0].size(0) == N  # free to read whole
    assert tt.gather(tw, index)[0].size(0) == 4  # the distinct rows only


@pytest.mark.parametrize("name", list(MANIFOLDS))
@pytest.mark.parametrize("kind", KINDS)
def test_reset_from_points_reads_back_the_points(name, kind):
    manifold = MANIFOLDS[name]()
    table = point_table(kind, manifold, N, DIM)
    weight = table.new_parameter(dtype=torch.float64)
    points = manifold.random(N, manifold.coord_dim(DIM), std=1.0, generator=torch.Generator().manual_seed(4),
                             dtype=torch.float64)
    table.reset_parameters(weight, points=points)
    torch.testing.assert_close(table.points(weight), points, rtol=1e-10, atol=1e-10)
    # and a state saved by one parameterisation converts to the other
    other = point_table("tangent" if kind == "manifold" else "manifold", manifold, N, DIM)
    torch.testing.assert_close(other.points(other.convert(weight.detach(), table)), points,
                               rtol=1e-10, atol=1e-10)


def test_rows_map_only_the_rows_asked_for(monkeypatch):
    manifold = Lorentz()
    table, weight = filled("tangent", manifold)
    seen = []
    expmap0 = manifold.expmap0_coords
    monkeypatch.setattr(manifold, "expmap0_coords", lambda u: seen.append(tuple(u.shape)) or expmap0(u))
    table.rows(weight, torch.tensor([1, 7]))
    table.gather(weight, torch.tensor([2, 2, 9, 2]))
    assert seen == [(2, DIM), (2, DIM)]
    # an index longer than the table (sampled negatives) maps the table once,
    # with the values and gradients of mapping every entry
    long = torch.randint(0, N, (5, 7), generator=torch.Generator().manual_seed(0))
    seen.clear()
    once = table.rows(weight, long)
    assert seen == [(N, DIM)]
    per_entry = manifold.expmap0_coords(weight[long])
    torch.testing.assert_close(once, per_entry, rtol=1e-15, atol=1e-15)  # vectorised sums may round apart
    g = torch.randn(once.shape, dtype=once.dtype, generator=torch.Generator().manual_seed(1))
    (grad_once,) = torch.autograd.grad(once, weight, g)
    (grad_each,) = torch.autograd.grad(per_entry, weight, g)
    torch.testing.assert_close(grad_once, grad_each, rtol=1e-12, atol=1e-14)


def test_argument_errors():
    manifold = PoincareBall()
    with pytest.raises(ValueError, match="parameterization must be one of"):
        point_table("euclidean", manifold, N, DIM)
    with pytest.raises(TypeError, match="Manifold"):
        TangentTable("poincare", N, DIM)
    table = point_table("tangent", manifold, N, DIM)
    weight = table.new_parameter()
    with pytest.raises(ValueError, match="exactly one of"):
        table.reset_parameters(weight)
    with pytest.raises(ValueError, match=r"must have shape \(12, 3\)"):
        table.reset_parameters(weight, points=torch.zeros(N, DIM + 1))
    assert repr(point_table("tangent", manifold, N, DIM, sparse=True)) == \
        "TangentTable(PoincareBall(k=1), 12, dim=3, sparse=True)"


# --- torch.optim on a tangent table ------------------------------------------------

def composite_loss(u, manifold, anchors, pairs):
    """BPR-like loss of the points expmap0(u), written with the pure math
    functions (not the table): the function whose gradient Adam must follow."""
    if isinstance(manifold, Lorentz):
        x = L.expmap0(F.pad(u, (1, 0)), k=float(manifold.k))
        dist = lambda a, b: L.dist(a, b, k=float(manifold.k))  # noqa: E731
    else:
        x = P.expmap0(u, k=float(manifold.k))
        dist = lambda a, b: P.dist(a, b, k=float(manifold.k))  # noqa: E731
    user, pos, neg = pairs
    return -F.logsigmoid(dist(anchors[user], x[neg]) - dist(anchors[user], x[pos])).sum()


@pytest.mark.parametrize("name", ["lorentz", "lorentz-k0.5", "poincare", "poincare-k2"])
def test_adam_on_a_tangent_table_is_adams_formula_through_expmap0(name):
    manifold = MANIFOLDS[name]()
    table, weight = filled("tangent", manifold, seed=1)
    anchors = manifold.random(4, manifold.coord_dim(DIM), std=0.7, generator=torch.Generator().manual_seed(2),
                              dtype=torch.float64)
    batches = [(torch.tensor([0, 1, 2, 3]), torch.tensor([0, 1, 2, 2]), torch.tensor([5, 6, 0, 11])),
               (torch.tensor([3, 3, 1]), torch.tensor([4, 4, 9]), torch.tensor([1, 2, 7]))]
    lr, (b1, b2), eps = 0.05, (0.9, 0.999), 1e-8
    optimizer = torch.optim.Adam([weight], lr=lr, betas=(b1, b2), eps=eps)
    u = weight.detach().clone()
    m, v = torch.zeros_like(u), torch.zeros_like(u)
    for t, (user, pos, neg) in enumerate(batches, start=1):
        # the model's way: rows through the table's interface
        loss = -F.logsigmoid(manifold.dist(anchors[user], table.rows(weight, neg))
                             - manifold.dist(anchors[user], table.rows(weight, pos))).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        # by hand: the gradient of the composite, then Adam (Kingma & Ba 2015, Algorithm 1)
        leaf = u.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(composite_loss(leaf, manifold, anchors, (user, pos, neg)), leaf)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
        u = u - lr * m_hat / (v_hat.sqrt() + eps)
        torch.testing.assert_close(weight.detach(), u, rtol=0, atol=1e-12)
    assert not torch.equal(u, filled("tangent", manifold, seed=1)[1].detach())  # it moved


def test_a_row_past_the_cap_keeps_finite_gradients_and_adam_steps():
    manifold = Lorentz()
    table, weight = filled("tangent", manifold, dtype=torch.float32)
    with torch.no_grad():
        weight[0] *= 1e4 / weight[0].norm()  # far past the float32 cap of 40
    optimizer = torch.optim.Adam([weight], lr=0.01)
    rows = table.rows(weight, torch.tensor([0, 1, 2]))
    manifold.dist(rows, rows.roll(1, 0)).sum().backward()
    assert torch.isfinite(weight.grad).all() and weight.grad[0].abs().sum() > 0
    optimizer.step()
    assert torch.isfinite(weight).all() and manifold.check_point(table.points(weight).detach())


# --- sparse tables ---------------------------------------------------------------

@pytest.mark.parametrize("name", list(MANIFOLDS))
@pytest.mark.parametrize("optimizer", ["sparse_adam", "adagrad", "sgd"])
def test_sparse_tangent_table_steps_only_the_rows_it_reads(name, optimizer):
    manifold = MANIFOLDS[name]()
    table, weight = filled("tangent", manifold, dtype=torch.float32, sparse=True)
    before = weight.detach().clone()
    make = {"sparse_adam": lambda p: torch.optim.SparseAdam(p, lr=0.1),
            "adagrad": lambda p: torch.optim.Adagrad(p, lr=0.1),
            "sgd": lambda p: torch.optim.SGD(p, lr=0.1)}[optimizer]
    opt = make([weight])
    index = torch.tensor([[1, 4], [4, 9]])
    for _ in range(2):
        opt.zero_grad()
        x = table.rows(weight, index)
        manifold.dist(x[:, 0], x[:, 1]).sum().backward()
        assert weight.grad.is_sparse
        opt.step()
    touched = torch.zeros(N, dtype=torch.bool)
    touched[index.flatten()] = True
    assert torch.equal(weight.detach()[~touched], before[~touched])
    assert (weight.detach()[touched] != before[touched]).any(dim=-1).all()


def test_sparse_manifold_table_with_riemannian_adam():
    manifold = PoincareBall()
    table, weight = filled("manifold", manifold, dtype=torch.float32, sparse=True)
    before = weight.detach().clone()
    opt = RiemannianAdam([weight], lr=0.05)
    x = table.rows(weight, torch.tensor([2, 3]))
    manifold.dist(x[0], x[1]).backward()
    assert weight.grad.is_sparse
    opt.step()
    changed = (weight.detach() != before).any(-1)
    assert changed.nonzero().flatten().tolist() == [2, 3]
    assert manifold.check_point(weight.detach())
    # a sparse manifold table gathers distinct rows (a whole-table read would give a dense gradient)
    assert table.gather(weight, torch.tensor([5, 5]))[0].size(0) == 1


def test_dense_reads_of_stand_in_tensors_stay_dense():
    # torch.func.functional_call swaps plain tensors in: they are read densely, differentiably
    manifold = Lorentz()
    table, weight = filled("tangent", manifold, sparse=True)
    stand_in = weight.detach().clone().requires_grad_(True)
    table.rows(stand_in, torch.tensor([0, 2])).sum().backward()
    assert not stand_in.grad.is_sparse and stand_in.grad[[0, 2]].abs().sum() > 0


# --- rows_stand_in: a functional call's table with its live rows ------------------

@pytest.mark.parametrize("moved", [False, True], ids=["same-rows", "moved-rows"])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", ["lorentz", "poincare"])
def test_rows_stand_in_reads_its_live_rows_with_the_same_values_and_gradients(name, kind, moved):
    # reads through take / rows / gather of the live rows give what the
    # index_copy stand-in gives, value and gradient, with the gradient formed
    # on the live rows alone (no table-sized zero per read); rows equal to
    # the table's (the bilevel inner step) make no copy, moved rows (the proxy) do
    manifold = MANIFOLDS[name]()
    table, weight = filled(kind, manifold)
    live = torch.tensor([1, 4, 5, 9])
    reads = torch.tensor([[4, 1, 4], [9, 9, 5]])

    def readout(make):
        leaf = weight.detach()[live].clone()
        if moved:
            leaf = table.from_points(manifold.projx(table.to_points(leaf) * 0.9))
        leaf.requires_grad_(True)
        stand_in = make(weight.detach(), live, leaf)
        points, local = table.gather(stand_in, reads.flatten())
        out = (table.rows(stand_in, reads).sin().sum() + table.take(stand_in, reads[0]).square().sum()
               + points[local].cos().sum())
        grad, through_table = torch.autograd.grad(out, [leaf, stand_in], allow_unused=True)
        return out.detach(), grad, points.size(0), through_table

    value, grad, gathered, through_table = readout(rows_stand_in)
    ref_value, ref_grad, ref_gathered, ref_through_table = readout(lambda t, i, r: t.index_copy(0, i, r))
    assert through_table is None  # no read went through the full table
    same = rows_stand_in(weight.detach(), live, weight.detach()[live].clone().requires_grad_(True))
    assert same.data_ptr() == weight.data_ptr()  # same rows: the table itself, no copy
    assert ref_through_table is not None and ref_through_table.shape == weight.shape
    torch.testing.assert_close(value, ref_value, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(grad, ref_grad, rtol=1e-12, atol=1e-12)
    assert gathered == live.numel()  # the live rows, each mapped once
    assert ref_gathered in (N, 4)  # the plain stand-in: the whole table or its distinct rows read


def test_rows_stand_in_falls_back_to_the_table_for_rows_outside_its_live_rows():
    manifold = Lorentz()
    table, weight = filled("manifold", manifold)
    live = torch.tensor([2, 3])
    leaf = weight.detach()[live].clone().requires_grad_(True)
    stand_in = rows_stand_in(weight.detach(), live, leaf)
    reads = torch.tensor([3, 7, 2])  # row 7 is not live: read from the table itself
    rows = table.take(stand_in, reads)
    torch.testing.assert_close(rows, weight.detach()[reads], rtol=0, atol=0)
    (grad,) = torch.autograd.grad(rows.sum(), leaf)  # still reaches the live rows, through index_copy
    assert rows.grad_fn is not None
    torch.testing.assert_close(grad, torch.ones_like(leaf), rtol=0, atol=0)
    # moved rows: a copy with them in place, read outside the live rows all the same
    moved = rows_stand_in(weight.detach(), live, (leaf.detach() * 0.5).requires_grad_(True))
    assert moved.data_ptr() != weight.data_ptr()
    torch.testing.assert_close(table.take(moved, reads), torch.stack([leaf.detach()[1] * 0.5, weight.detach()[7],
                                                                      leaf.detach()[0] * 0.5]), rtol=0, atol=0)
    # an empty set of live rows is a plain table
    empty = rows_stand_in(weight.detach(), live[:0], leaf[:0])
    torch.testing.assert_close(table.take(empty, reads), weight.detach()[reads], rtol=0, atol=0)
