"""hypgraph export (embeddings with raw ids, ball and hyperboloid) and
hypgraph plot (PNGs; the 2-D view of the disk)."""
import sys

import numpy as np
import pytest
import torch

from hypgraph.cli.plot import disk_view
from hypgraph.cli.run import Run
from hypgraph.manifolds import Lorentz, PoincareBall, lorentz_to_poincare

from .conftest import run_cli

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def lightgcn_run(tmp_path_factory, pairs_file):
    from hypgraph.cli.main import main

    folder = tmp_path_factory.mktemp("lightgcn") / "run"
    assert main(["train", str(pairs_file), "--model", "lightgcn", "--dim", "4", "--out", str(folder),
                 "--epochs", "1", "--no-progress"]) == 0
    return folder


def test_export_npy(tmp_path, capsys, trained_run):
    code, _, err = run_cli(capsys, "export", trained_run, "--out", tmp_path)
    assert code == 0, err
    run = Run(trained_run)
    data, model = run.data, run.model()
    for kind, n in (("users", data.num_users), ("items", data.num_items)):
        ids = np.load(tmp_path / f"{kind}_id.npy", allow_pickle=False)
        assert ids.tolist() == data.id_strings(kind[:-1])
        ball = np.load(tmp_path / f"{kind}_poincare.npy")
        hyperboloid = np.load(tmp_path / f"{kind}_hyperboloid.npy")
        assert ball.shape == (n, 6) and hyperboloid.shape == (n, 7)
        assert (np.linalg.norm(ball, axis=1) < 1).all()
        minkowski = -hyperboloid[:, 0] ** 2 + (hyperboloid[:, 1:] ** 2).sum(1)
        np.testing.assert_allclose(minkowski, -1.0, rtol=1e-6)
        np.testing.assert_allclose(lorentz_to_poincare(torch.from_numpy(hyperboloid)).numpy(), ball, atol=1e-9)
        degree = np.load(tmp_path / f"{kind}_degree.npy")
        assert degree.sum() == data.train.size(1)
    with torch.no_grad():
        items = model.points("item").double().numpy()
    np.testing.assert_allclose(np.load(tmp_path / "items_hyperboloid.npy"), items)


def test_export_parquet_and_euclidean(tmp_path, capsys, lightgcn_run):
    import pyarrow.parquet as pq

    code, _, err = run_cli(capsys, "export", lightgcn_run, "--format", "parquet", "--out", tmp_path)
    assert code == 0, err
    table = pq.read_table(tmp_path / "items.parquet")
    assert table.column_names == ["id", "degree"] + [f"euclidean_{j}" for j in range(4)]
    assert table.column("id").to_pylist() == Run(lightgcn_run).data.id_strings("item")


def test_popularity_has_nothing_to_export(tmp_path, capsys, pairs_file):
    assert run_cli(capsys, "train", pairs_file, "--model", "popularity", "--out", tmp_path / "p",
                   "--no-progress")[0] == 0
    for command in ("export", "plot"):
        code, out, err = run_cli(capsys, command, tmp_path / "p")
        assert code == 2 and err.count("\n") == 1 and "popularity model has no embeddings" in err


def test_plot_writes_pngs(tmp_path, capsys, trained_run, lightgcn_run):
    code, _, err = run_cli(capsys, "plot", trained_run, "--out", tmp_path / "h")
    assert code == 0, err
    for name in ("items_disk.png", "norm_vs_degree.png"):
        assert (tmp_path / "h" / name).read_bytes().startswith(PNG)
    assert "Spearman rho" in err
    assert run_cli(capsys, "plot", lightgcn_run, "--out", tmp_path / "e")[0] == 0
    assert (tmp_path / "e" / "items_plane.png").read_bytes().startswith(PNG)


def test_plot_without_matplotlib_is_one_line(monkeypatch, capsys, trained_run):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    code, _, err = run_cli(capsys, "plot", trained_run)
    assert code == 2 and err == "hypgraph plot: error: plotting needs matplotlib: pip install matplotlib\n"


class _Points:
    def __init__(self, manifold):
        self.manifold = manifold


@pytest.mark.parametrize("manifold", [Lorentz(), Lorentz(k=2.0), PoincareBall(k=0.5)])
def test_disk_view(manifold):
    g = torch.Generator().manual_seed(0)
    # in 2-D the view is the Poincaré disk itself (scaled to radius 1)
    tangent = torch.randn(50, 2, generator=g, dtype=torch.float64)
    points = manifold.expmap0(manifold.tangent0(tangent))
    x, y, distance, hyperbolic = disk_view(_Points(manifold), points)
    k = float(manifold.k)
    ball = lorentz_to_poincare(points, k=k) if isinstance(manifold, Lorentz) else points
    assert hyperbolic
    np.testing.assert_allclose(np.stack([x, y], 1), (ball * k ** 0.5).numpy(), atol=1e-12)
    np.testing.assert_allclose(distance, manifold.dist0(points).numpy())
    # in more dimensions each point keeps its exact Poincaré radius
    tangent = torch.randn(50, 5, generator=g, dtype=torch.float64)
    points = manifold.expmap0(manifold.tangent0(tangent))
    x, y, _, _ = disk_view(_Points(manifold), points)
    ball = lorentz_to_poincare(points, k=k) if isinstance(manifold, Lorentz) else points
    np.testing.assert_allclose(np.hypot(x, y), (ball.norm(dim=1) * k ** 0.5).numpy(), atol=1e-12)
