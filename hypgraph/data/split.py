r"""Train/validation/test splits of the interactions, in the
:class:`torch_geometric.transforms.RandomLinkSplit` layout.

Each function returns ``(train_data, val_data, test_data)``; the three share
the nodes and the knowledge graph (shallow copies) and differ in
``('user', 'interacts', 'item')`` (and its reverse):

========== ====================== =====================================
part       ``edge_index``         ``edge_label_index`` / ``edge_label``
========== ====================== =====================================
train      train edges            train edges / ones
val        train edges            validation positives / ones
test       train + val edges      test positives / ones
========== ====================== =====================================

``edge_index`` is what a model may propagate over; ``edge_label_index`` is what
it is scored on. Per-edge attributes (``time``, ``rating``, ...) follow
``edge_index``; ``edge_label_time`` follows ``edge_label_index`` when the data
has timestamps. Every edge of the input lands in exactly one part, and no
``(user, item)`` pair is in two parts (repeated pairs are refused: call
:func:`~hypgraph.data.preprocess.dedupe` first).

All three are vectorised: per-user ranks come from stable sorts and segment
offsets, never from a Python loop over users.
"""
from __future__ import annotations

import copy
from typing import Optional, Tuple

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import HeteroData

from .hetero import INTERACTS, set_interactions
from .preprocess import _interactions
from .report import FilterReport, record

__all__ = ["leave_last_out", "random_split", "given_split", "explicit_split", "sample_label_users"]

Split = Tuple[HeteroData, HeteroData, HeteroData]


def leave_last_out(data: HeteroData, *, val: bool = True) -> Split:
    r"""Hold out each user's most recent interaction as test and the second
    most recent as validation (Chamberlain 2019, §6.2–6.3).

    "Most recent" orders a user's interactions by ``time``; among equal
    timestamps the larger item index counts as later (then the later row), so
    the split does not depend on the row order of the input. A user needs at
    least 2 interactions to get a test interaction and at least 3 to also get a
    validation one, so that one interaction always stays in train; users with
    fewer keep all of theirs in train, and how many did so is recorded in each
    part's ``filter_log``.

    Args:
        data (HeteroData): Interactions with a ``time`` attribute, no repeated
            ``(user, item)`` pairs.
        val (bool): Also hold out a validation interaction per user; if
            :obj:`False`, ``val_data`` has no label edges. (default: :obj:`True`)

    Returns:
        (HeteroData, HeteroData, HeteroData): ``train_data, val_data, test_data``.

    Raises:
        ValueError: If the interactions have no ``time``, or repeat a pair.
    """
    edge_index, attrs = _interactions(data)
    if "time" not in attrs:
        raise ValueError(
            f"leave_last_out needs a 'time' attribute on {INTERACTS}; for data without "
            f"timestamps use random_split or given_split")
    _check_no_repeats(edge_index, data["item"].num_nodes)
    user = edge_index[0]
    rank, degree = _rank_within_user(user, data["user"].num_nodes, attrs["time"], edge_index[1])
    from_end = degree[user] - 1 - rank
    is_test = (from_end == 0) & (degree[user] >= 2)
    is_val = (from_end == 1) & (degree[user] >= 3) if val else torch.zeros_like(is_test)
    rule = "fewer than 2 interactions" + ("; validation needs 3" if val else "")
    return _assemble(data, is_val, is_test, step="leave_last_out", rule=rule)


def random_split(
    data: HeteroData,
    *,
    test_ratio: float = 0.2,
    val_ratio: float = 0.1,
    seed: int = 0,
) -> Split:
    r"""Per-user random split (Hyper-Know, "Datasets": 80% of each user's
    interactions for training, 20% for test, then 10% of the training ones as
    validation).

    A user with :math:`d` interactions gets :math:`t = \min(\lfloor
    \rho_{test} d + \frac12 \rfloor, d - 1)` test interactions (nearest integer,
    at least one left for training), then :math:`\min(\lfloor \rho_{val}
    (d - t) + \frac12 \rfloor, d - t - 1)` of the rest go to validation. Which
    ones is a uniformly random choice per user from
    ``torch.Generator().manual_seed(seed)``.

    Args:
        data (HeteroData): Interactions without repeated pairs.
        test_ratio (float): Share of each user's interactions for test.
            (default: :obj:`0.2`)
        val_ratio (float): Share of each user's remaining interactions for
            validation. (default: :obj:`0.1`)
        seed (int): Seed of the random choice. (default: :obj:`0`)

    Returns:
        (HeteroData, HeteroData, HeteroData): ``train_data, val_data, test_data``.

    Raises:
        ValueError: If a ratio is outside ``[0, 1)`` or a pair is repeated.
    """
    _check_ratio("test_ratio", test_ratio)
    _check_ratio("val_ratio", val_ratio)
    edge_index, _ = _interactions(data)
    _check_no_repeats(edge_index, data["item"].num_nodes)
    generator = torch.Generator().manual_seed(seed)
    num_users = data["user"].num_nodes
    user = edge_index[0]

    rank, degree = _rank_within_user(
        user, num_users, torch.rand(user.numel(), generator=generator, dtype=torch.double))
    n_test = _share(degree, test_ratio)
    is_test = rank < n_test[user]
    is_val = _random_val(user, ~is_test, num_users, val_ratio, generator)
    return _assemble(data, is_val, is_test, step="random_split",
                     rule=f"too few interactions for a {test_ratio:g} test share")


def given_split(data: HeteroData, *, val_ratio: float = 0.0, seed: int = 0) -> Split:
    r"""Use the train/test split that ships with a dataset (KGAT's
    ``train.txt``/``test.txt``, HGCF's ``train.pkl``/``test.pkl``), as the
    readers record it in the ``train_mask``/``test_mask`` edge attributes.

    Optionally a random :obj:`val_ratio` of each user's training interactions
    becomes validation, rounded as in :func:`random_split`. Rows in neither
    mask are left out of all three parts and recorded.

    Args:
        data (HeteroData): Interactions with ``train_mask`` (and optionally
            ``test_mask``, default: the complement), without repeated pairs.
        val_ratio (float): Share of each user's training interactions for
            validation. (default: :obj:`0.0`)
        seed (int): Seed of the validation choice. (default: :obj:`0`)

    Returns:
        (HeteroData, HeteroData, HeteroData): ``train_data, val_data, test_data``.

    Raises:
        ValueError: If ``train_mask`` is missing, a row is in both masks, a pair
            is repeated, or :obj:`val_ratio` is outside ``[0, 1)``.
    """
    _check_ratio("val_ratio", val_ratio)
    edge_index, attrs = _interactions(data)
    if "train_mask" not in attrs:
        raise ValueError(
            f"given_split needs a 'train_mask' attribute on {INTERACTS} (set by the readers "
            f"of datasets with their own train/test files); found {sorted(attrs) or 'none'}")
    train_mask = attrs["train_mask"].bool()
    test_mask = attrs["test_mask"].bool() if "test_mask" in attrs else ~train_mask
    both = train_mask & test_mask
    if bool(both.any()):
        row = int(both.nonzero()[0])
        raise ValueError(
            f"{int(both.sum())} interactions are in both train_mask and test_mask "
            f"(first: row {row}, user {int(edge_index[0, row])}, item {int(edge_index[1, row])})")
    _check_no_repeats(edge_index, data["item"].num_nodes)

    neither = ~(train_mask | test_mask)
    if bool(neither.any()):
        kept = int((~neither).sum())
        report = FilterReport(step="given_split: rows in neither train_mask nor test_mask",
                              kept=kept, removed=int(neither.sum()),
                              detail="left out of train, validation and test")
        data = copy.copy(data)
        record(data, report)
    generator = torch.Generator().manual_seed(seed)
    is_val = _random_val(edge_index[0], train_mask, data["user"].num_nodes, val_ratio, generator)
    return _assemble(data, is_val, test_mask, step="given_split",
                     rule="no interaction in test_mask", neither=neither)


def explicit_split(train_data: HeteroData, test_data: HeteroData, val_data: Optional[HeteroData] = None, *,
                   val_ratio: float = 0.0, seed: int = 0) -> Split:
    r"""Use train, test and (optionally) validation interactions read from
    separate files, e.g. ``ua.base``/``ua.test`` or a user's own exports.

    Each file is read on its own, so each numbers its users and items
    ``0..n-1`` by itself; the parts are matched through the original ids
    (``raw_id``). The nodes are :obj:`train_data`'s. A validation or test pair
    whose user or item does not occur in :obj:`train_data` cannot be scored
    and is left out, and so is a pair already in an earlier part (train, then
    validation) or repeated within its part: each such count is recorded in
    every part's ``filter_log`` (nothing is dropped silently). Per-edge
    attributes (``time``, ``rating``) are kept when every part has them.

    Without :obj:`val_data`, a random :obj:`val_ratio` of each user's
    training interactions becomes validation, as in :func:`given_split`.

    Args:
        train_data (HeteroData): Training interactions, without repeated
            pairs (see :func:`~hypgraph.data.preprocess.prepare`).
        test_data (HeteroData): Test interactions.
        val_data (HeteroData, optional): Validation interactions.
            (default: :obj:`None`)
        val_ratio (float): Share of each user's training interactions for
            validation when :obj:`val_data` is not given. (default: :obj:`0.0`)
        seed (int): Seed of that choice. (default: :obj:`0`)

    Returns:
        (HeteroData, HeteroData, HeteroData): ``train_data, val_data, test_data``.

    Raises:
        ValueError: If :obj:`val_data` and a non-zero :obj:`val_ratio` are
            both given, :obj:`val_ratio` is outside ``[0, 1)``, or
            :obj:`train_data` repeats a pair.
    """
    _check_ratio("val_ratio", val_ratio)
    if val_data is not None and val_ratio:
        raise ValueError(f"pass val_data or val_ratio, not both (got val_ratio={val_ratio})")
    edge_index, attrs = _interactions(train_data)
    num_users, num_items = train_data["user"].num_nodes, train_data["item"].num_nodes
    _check_no_repeats(edge_index, num_items)
    seen = edge_index[0] * num_items + edge_index[1]
    reports = []
    parts = {}
    for name, part in (("validation", val_data), ("test", test_data)):
        if part is None:
            continue
        held, held_attrs = _interactions(part)
        user = _align(train_data["user"].raw_id, part["user"].raw_id)[held[0]]
        item = _align(train_data["item"].raw_id, part["item"].raw_id)[held[1]]
        known = (user >= 0) & (item >= 0)
        key = user * num_items + item
        # the first occurrence of a pair within the part, not in an earlier part
        masked = torch.where(known, key, -1)
        first = torch.zeros_like(known)
        order = torch.argsort(masked, stable=True)
        sorted_key = masked[order]
        is_first = torch.ones_like(known)
        is_first[1:] = sorted_key[1:] != sorted_key[:-1]
        first[order] = is_first
        new = known & first & ~torch.isin(key, seen)
        n_rows = held.size(1)
        unknown_users = int(torch.unique(held[0][user < 0]).numel())
        unknown_items = int(torch.unique(held[1][item < 0]).numel())
        reports.append(FilterReport(
            step=f"explicit_split: {name} pairs kept", kept=int(new.sum()), removed=n_rows - int(new.sum()),
            detail=(f"{int((~known).sum()):,} with a user or item not in train ({unknown_users:,} unknown "
                    f"users, {unknown_items:,} unknown items); {int((known & ~first).sum()):,} repeated "
                    f"within the part; {int((known & first & ~new).sum()):,} already in "
                    f"{'train' if name == 'validation' else 'train or validation'}")))
        parts[name] = (torch.stack([user[new], item[new]]), {k: v[new] for k, v in held_attrs.items()})
        seen = torch.cat([seen, key[new]])

    pieces = [(edge_index, attrs)] + [parts[name] for name in ("validation", "test") if name in parts]
    common = set(attrs).intersection(*(set(a) for _, a in pieces[1:]))
    lengths = [e.size(1) for e, _ in pieces]
    kind = torch.cat([torch.full((n,), k) for k, n in enumerate(lengths)])
    combined = copy.copy(train_data)
    set_interactions(combined, torch.cat([e for e, _ in pieces], dim=1),
                     **{k: torch.cat([a[k] for _, a in pieces]) for k in sorted(common)})
    is_test = kind == (2 if "validation" in parts else 1)
    if "validation" in parts:
        is_val = kind == 1
    else:
        generator = torch.Generator().manual_seed(seed)
        is_val = _random_val(combined[INTERACTS].edge_index[0], kind == 0, num_users, val_ratio, generator)
    for report in reports:
        record(combined, report)
    return _assemble(combined, is_val, is_test, step="explicit_split", rule="no test pair")


# ---------------------------------------------------------------------------

def _align(reference, other) -> Tensor:
    r"""For each original id of :obj:`other`, its index among the original
    ids :obj:`reference`, or -1 (ids compared as integers when both are, else
    as strings)."""
    if isinstance(reference, Tensor) and isinstance(other, Tensor):
        ref, oth = reference.numpy(), other.numpy()
    else:
        ref = np.asarray([str(r) for r in _as_list(reference)])
        oth = np.asarray([str(r) for r in _as_list(other)])
    if len(ref) == 0 or len(oth) == 0:
        return torch.full((len(oth),), -1, dtype=torch.long)
    order = np.argsort(ref, kind="stable")
    pos = np.searchsorted(ref[order], oth).clip(max=len(ref) - 1)
    found = ref[order][pos] == oth
    return torch.as_tensor(np.where(found, order[pos], -1), dtype=torch.long)


def _as_list(raw) -> list:
    return raw.tolist() if isinstance(raw, (Tensor, np.ndarray)) else list(raw)


def _rank_within_user(user: Tensor, num_users: int, *keys: Tensor) -> Tuple[Tensor, Tensor]:
    r"""Rank of every edge among its user's edges, ordered by :obj:`keys`
    (lexicographically, ties to the earlier row), and the degree of each user."""
    order = torch.arange(user.numel())
    # Stable sorts from the least to the most significant key = lexsort.
    for key in reversed((user,) + keys):
        order = order[torch.sort(key[order], stable=True).indices]
    degree = torch.bincount(user, minlength=num_users)
    start = torch.cumsum(degree, 0) - degree
    rank = torch.empty_like(order)
    rank[order] = torch.arange(order.numel()) - start[user[order]]
    return rank, degree


def _share(count: Tensor, ratio: float) -> Tensor:
    r"""``ratio * count`` rounded half up, capped at ``count - 1`` (>= 0)."""
    n = torch.floor(count.double() * ratio + 0.5).long()
    return torch.minimum(n, (count - 1).clamp(min=0))


def _random_val(user: Tensor, pool: Tensor, num_users: int, ratio: float,
                generator: torch.Generator) -> Tensor:
    r"""A uniformly random :func:`_share` of each user's edges in :obj:`pool`."""
    # Edges outside the pool sort after the pool (key 2 > any rand), so pool
    # edges hold the ranks 0..pool_degree-1 of their user.
    key = torch.rand(user.numel(), generator=generator, dtype=torch.double)
    key[~pool] = 2.0
    rank, _ = _rank_within_user(user, num_users, key)
    pool_degree = torch.bincount(user[pool], minlength=num_users)
    return pool & (rank < _share(pool_degree, ratio)[user])


def sample_label_users(part: HeteroData, num_users: int, *, seed: int = 0) -> HeteroData:
    r"""A copy of a split part (e.g. the validation part of
    :func:`given_split`) whose labels keep the interactions of
    :obj:`num_users` users drawn at random (uniformly, with :obj:`seed`)
    among the users with a label; its message edges (the history the
    ranking masks) are unchanged. Ranking every user of a large catalogue
    at every validation can cost as much as an epoch: a fixed sample of
    users keeps early stopping affordable, the same for every model. The
    drop is recorded in ``filter_log``.

    Raises:
        ValueError: If :obj:`num_users` < 1.
    """
    if num_users < 1:
        raise ValueError(f"num_users must be >= 1, got {num_users}")
    store = part[INTERACTS]
    label_index = store.edge_label_index
    users = torch.unique(label_index[0])
    if users.numel() <= num_users:
        return part
    generator = torch.Generator().manual_seed(seed)
    chosen = users[torch.randperm(users.numel(), generator=generator)[:num_users]]
    keep = torch.isin(label_index[0], chosen)
    out = copy.copy(part)
    out_store = out[INTERACTS]
    out_store.edge_label_index = label_index[:, keep]
    for key in ("edge_label", "edge_label_time"):
        if key in store:
            out_store[key] = store[key][keep]
    record(out, FilterReport(step=f"sample_label_users: {num_users:,} random users (seed {seed})",
                             kept=int(keep.sum()), removed=int((~keep).sum()), unit="label interactions",
                             detail=f"{users.numel() - num_users:,} of {users.numel():,} users left out"))
    return out


def _assemble(data: HeteroData, is_val: Tensor, is_test: Tensor, *, step: str, rule: str,
              neither: Tensor | None = None) -> Split:
    edge_index, attrs = _interactions(data)
    is_train = ~(is_val | is_test)
    if neither is not None:
        is_train &= ~neither

    def part(message: Tensor, label: Tensor) -> HeteroData:
        out = copy.copy(data)
        set_interactions(out, edge_index[:, message], **{k: v[message] for k, v in attrs.items()})
        store = out[INTERACTS]
        store.edge_label_index = edge_index[:, label]
        store.edge_label = torch.ones(int(label.sum()))
        if "time" in attrs:
            store.edge_label_time = attrs["time"][label]
        return out

    parts = (part(is_train, is_train), part(is_train, is_val), part(is_train | is_val, is_test))

    num_users = data["user"].num_nodes
    user = edge_index[0]
    active = torch.bincount(user, minlength=num_users) > 0
    with_test = torch.bincount(user[is_test], minlength=num_users) > 0
    with_val = torch.bincount(user[is_val], minlength=num_users) > 0
    n_test, n_active = int(with_test.sum()), int(active.sum())
    detail = (f"no test interaction for {n_active - n_test:,} users ({rule}); no validation "
              f"interaction for {int((active & ~with_val).sum()):,} users; edges "
              f"train/val/test = {int(is_train.sum()):,}/{int(is_val.sum()):,}/{int(is_test.sum()):,}")
    report = FilterReport(step=f"{step}: users with a test interaction", kept=n_test,
                          removed=n_active - n_test, unit="users", detail=detail)
    for out in parts:
        record(out, report)
    return parts


def _check_no_repeats(edge_index: Tensor, num_items: int) -> None:
    key = edge_index[0] * num_items + edge_index[1]
    sorted_key = torch.sort(key).values
    repeated = sorted_key[1:] == sorted_key[:-1]
    if bool(repeated.any()):
        first = int(sorted_key[1:][repeated][0])
        raise ValueError(
            f"{int(repeated.sum())} repeated (user, item) pairs, e.g. user {first // num_items}, "
            f"item {first % num_items}, would leak between parts; call dedupe() first")


def _check_ratio(name: str, value: float) -> None:
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value}")
