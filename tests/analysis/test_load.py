r"""load_dataset gives the data that prepare() gives on what the reader read
(it frees the reverse edges of the read data before preparing, since
prepare() rebuilds them)."""
import numpy as np

from analysis.load import load_dataset
from hypgraph.data.hetero import INTERACTS, REV_INTERACTS
from hypgraph.data.readers import read

from ..data import _preprocess_reference as ref
from ..data.test_preprocess_equivalence import assert_same


def test_load_dataset_is_prepare_of_the_read_data(tmp_path):
    rng = np.random.default_rng(0)
    rows = np.stack([rng.integers(1, 40, 500), rng.integers(1, 30, 500), rng.integers(1, 6, 500),
                     rng.integers(880_000_000, 880_000_050, 500)], 1)
    path = tmp_path / "u.data"
    path.write_text("".join("\t".join(map(str, row)) + "\n" for row in rows))
    for options in (dict(), dict(min_rating=4, min_user_interactions=3)):
        data, n_read = load_dataset(path, "movielens", **options)
        assert n_read == 500
        want = ref.prepare(read(path, reader="movielens"), **options)
        assert_same(data, want)
        store = data[INTERACTS]
        assert data[REV_INTERACTS].edge_index.equal(store.edge_index.flip(0))
