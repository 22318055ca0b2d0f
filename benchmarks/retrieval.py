r"""Top-k retrieval on a large hyperbolic catalogue (issue 19, benchmark 5a):
exact chunked ranking against faiss indexes.

A synthetic catalogue of hyperboloid points (``expmap0`` of Gaussian
tangent vectors, radii spread as in a trained model's table) held by a
:class:`~hypgraph.nn.models.HyperbolicRecommender`, and as many users; the
top-20 of every user by

- ``exact``: :func:`~hypgraph.nn.models.recommend_chunked`, one matrix
  product per block of users and items;
- ``flat``: :class:`~hypgraph.nn.models.ItemIndex` ``'flat'`` (faiss
  ``IndexFlatIP``, exhaustive);
- ``hnsw@ef``: ``ItemIndex`` ``'hnsw'`` (``IndexHNSWFlat`` in L2 after the
  Xbox reduction) at several ``ef_search``;
- ``hnsw-ip@ef`` on the first ``--ip-graph-items`` items only: an HNSW graph
  built on the inner product itself, against the L2 graph on the same
  items, to show why the index does not use it.

Reported per row: build seconds, queries per second (the whole
``recommend_chunked`` call, scores of the winners included, no seen items
to leave out) and Recall@20 against ``exact``. The load average of the
machine is recorded before and after: the figures are only as quiet as it.

    python benchmarks/retrieval.py [--items 1000000] [--queries 10000] [--threads 2]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.timing import git_commit, machine_description
from hypgraph.nn.models import HyperbolicRecommender, ItemIndex, recommend_chunked
from hypgraph.nn.models.index import import_faiss, item_keys, l2_keys, l2_queries, user_queries

RESULTS = Path(__file__).resolve().parent / "results" / "retrieval.json"
K = 20


def catalogue(num_items: int, num_users: int, dim: int, std: float, seed: int) -> HyperbolicRecommender:
    r"""A hyperboloid model whose item and user points are ``expmap0`` of
    Gaussian tangent vectors of standard deviation :obj:`std` per coordinate."""
    model = HyperbolicRecommender(num_users, num_items, dim=dim, asymmetric=False).eval()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, size in (("item", num_items), ("user", num_users)):
            points = model.manifold.random(size, dim + 1, std=std, generator=g)
            model.point_tables[name].reset_parameters(getattr(model, name), points=points)
    return model


def top_k(model, users, index=None):
    r"""``(items [U, K], seconds)`` of one ``recommend_chunked`` pass."""
    start = time.perf_counter()
    items = torch.cat([chunk[1] for chunk in recommend_chunked(model, users, K, exclude_seen=False, index=index)])
    return items, time.perf_counter() - start


def recall(found, exact) -> float:
    r"""Mean share of each row of :obj:`exact` present in the row of :obj:`found`."""
    hits = (found.unsqueeze(2) == exact.unsqueeze(1)).any(2).sum()
    return round(float(hits) / exact.numel(), 4)


@torch.no_grad()
def raw_graphs(model, users, items: int, ef_search, hnsw_m: int, ef_construction: int):
    r"""Recall@20 of HNSW graphs built on the inner product and in L2 (the
    index's), on the first :obj:`items` items, against the exact top-20 there."""
    faiss = import_faiss()
    keys = item_keys(model)[:items]
    queries = user_queries(model, model.user_points(users))
    exact = (queries @ keys.t()).topk(K, dim=1).indices
    rows = {}
    for name, metric, k, q in (("hnsw-ip", faiss.METRIC_INNER_PRODUCT, keys, queries),
                               ("hnsw-l2", faiss.METRIC_L2, l2_keys(keys), l2_queries(queries))):
        graph = faiss.IndexHNSWFlat(k.shape[1], hnsw_m, metric)
        graph.hnsw.efConstruction = ef_construction
        start = time.perf_counter()
        graph.add(k.float().contiguous().numpy())
        build = time.perf_counter() - start
        for ef in ef_search:
            graph.hnsw.efSearch = ef
            _, found = graph.search(q.float().contiguous().numpy(), K)
            rows[f"{name}@{ef}"] = {"items": items, "build_seconds": round(build, 1),
                                    "recall_at_20": recall(torch.from_numpy(found), exact)}
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=10_000, help="users, one query each")
    ap.add_argument("--exact-queries", type=int, default=None,
                    help="time the exact baseline on this many of them (default: all); Recall still uses all")
    ap.add_argument("--dim", type=int, default=64, help="intrinsic dimension (65 coordinates)")
    ap.add_argument("--std", type=float, default=0.4, help="tangent standard deviation per coordinate")
    ap.add_argument("--ef-search", type=int, nargs="+", default=[32, 64, 128])
    ap.add_argument("--hnsw-m", type=int, default=32)
    ap.add_argument("--ef-construction", type=int, default=100)
    ap.add_argument("--ip-graph-items", type=int, default=100_000)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    load_before = os.getloadavg()
    start = time.perf_counter()
    model = catalogue(args.items, args.queries, args.dim, args.std, args.seed)
    users = torch.arange(args.queries)
    radius = model.manifold.dist0(model.item_points()).detach()
    rows = {}

    timed = users[:args.exact_queries] if args.exact_queries else users
    exact, seconds = top_k(model, timed)
    if timed.numel() < users.numel():  # the rest untimed, for the recall of the others
        exact = torch.cat([exact, top_k(model, users[timed.numel():])[0]])
    rows["exact"] = {"build_seconds": 0.0, "queries_per_second": round(timed.numel() / seconds, 1),
                     "timed_queries": timed.numel(), "recall_at_20": 1.0}
    print("exact", rows["exact"], flush=True)

    for kind, settings in [("flat", [None])] + [("hnsw", args.ef_search)]:
        begin = time.perf_counter()
        index = ItemIndex.build(model, kind, hnsw_m=args.hnsw_m, ef_construction=args.ef_construction)
        build = time.perf_counter() - begin
        for ef in settings:
            if ef is not None:
                index.index.hnsw.efSearch = ef
            found, seconds = top_k(model, users, index)
            name = kind if ef is None else f"{kind}@{ef}"
            rows[name] = {"build_seconds": round(build, 1), "queries_per_second": round(users.numel() / seconds, 1),
                          "recall_at_20": recall(found, exact)}
            print(name, rows[name], flush=True)
        del index

    graphs = raw_graphs(model, users, min(args.ip_graph_items, args.items), args.ef_search, args.hnsw_m,
                        args.ef_construction)
    print(json.dumps(graphs), flush=True)
    result = {
        "catalogue": f"{args.items:,} hyperboloid points (Lorentz, k=1), expmap0 of N(0, {args.std}^2) tangent "
                     f"vectors in {args.dim} dimensions; {args.queries:,} users drawn alike, one query each",
        "item_radius": {"median": round(float(radius.median()), 2), "max": round(float(radius.max()), 2)},
        "items": args.items, "queries": args.queries, "dim": args.dim, "k": K,
        "hnsw": {"m": args.hnsw_m, "ef_construction": args.ef_construction, "metric": "L2 after the Xbox reduction"},
        "rows": rows,
        "graph_metric": {"note": f"HNSW graphs on the first {min(args.ip_graph_items, args.items):,} items: built on "
                                 f"the inner product itself against in L2 (the index's), Recall@20 against the "
                                 f"exact top-20 among those items", "rows": graphs},
        "notes": "queries_per_second: the whole recommend_chunked call (user points, search, scores of the "
                 "winners), no seen items to leave out; exact = user_chunk 256 x item_chunk 65,536 blocks",
        "load_average_before": [round(v, 2) for v in load_before],
        "load_average_after": [round(v, 2) for v in os.getloadavg()],
        "seconds": round(time.perf_counter() - start, 1), "commit": git_commit(),
        "machine": machine_description(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["rows"], indent=2))


if __name__ == "__main__":
    main()
