"""Readers on the real datasets of shared/data: the counts of its README."""
import pytest
import torch

from hypgraph.data import DataFormatError, index_of
from hypgraph.data.readers import read, read_hgcf, read_kgat, read_kgcn, read_movielens, read_recbole

UI = ("user", "interacts", "item")
KG = ("entity", "relates", "entity")
LINKS = ("item", "links", "entity")


def num_edges(data, edge_type=UI):
    return data[edge_type].edge_index.size(1)


def test_movielens_100k(shared_data):
    data = read_movielens(shared_data / "ml-100k")
    assert (data["user"].num_nodes, data["item"].num_nodes, num_edges(data)) == (943, 1682, 100_000)
    assert torch.bincount(data[UI].rating.long(), minlength=6)[1:].tolist() == [6110, 11370, 27145, 34174, 21201]
    assert (int(data[UI].time.min()), int(data[UI].time.max())) == (874724710, 893286638)
    # First row of u.data is "196 242 3 881250949".
    u, i = index_of(data, "user", [196]), index_of(data, "item", [242])
    assert data[UI].edge_index[:, 0].tolist() == [u.item(), i.item()]


@pytest.mark.parametrize("folder,users,items,positives,triples,relations,entities", [
    ("lastfm-kgcn", 1872, 3846, 21_173, 15_518, 60, 9_366),
    ("book-crossing-kgcn", 17_860, 14_967, 69_873, 151_500, 25, 77_903),
])
def test_kgcn(shared_data, folder, users, items, positives, triples, relations, entities):
    data = read_kgcn(shared_data / folder)
    assert (data["user"].num_nodes, data["item"].num_nodes, num_edges(data)) == (users, items, positives)
    assert num_edges(data, KG) == triples
    assert data[KG].num_relations == relations
    assert data["entity"].num_nodes == entities
    negatives, = data.filter_log
    assert (negatives.kept, negatives.removed) == (positives, positives)
    assert num_edges(data, LINKS) == items


def test_kgat_amazon_book(shared_data):
    data = read_kgat(shared_data / "kgat" / "amazon-book")
    assert (data["user"].num_nodes, data["item"].num_nodes) == (70_679, 24_915)
    mask = data[UI].train_mask
    assert (int(mask.sum()), int((~mask).sum()), num_edges(data)) == (652_514, 193_920, 846_434)
    assert torch.equal(data[UI].test_mask, ~mask)
    empty, = data.filter_log
    assert empty.removed == 88
    assert "entity" not in data.node_types  # amazon-book ships without kg_final


@pytest.mark.parametrize("name", ["last-fm", "yelp2018"])
def test_kgat_without_train_names_the_missing_file(shared_data, name):
    with pytest.raises(DataFormatError, match=r"train\.txt: missing train\.txt:"):
        read_kgat(shared_data / "kgat" / name)


def test_recbole_ml_100k_kg(shared_data):
    data = read_recbole(shared_data / "ml-100k-kg-recbole")
    assert (data["user"].num_nodes, data["item"].num_nodes, num_edges(data)) == (943, 1682, 100_000)
    assert num_edges(data, KG) == 91_631
    assert data[KG].num_relations == 24
    assert data["entity"].num_nodes == 34_628
    assert num_edges(data, LINKS) == 1598
    relation = list(data[KG].relation_raw_id).index("film.film.actor")
    assert int((data[KG].edge_type == relation).sum()) == 40_152
    linked = torch.zeros(data["item"].num_nodes, dtype=torch.bool)
    linked[data[LINKS].edge_index[0]] = True
    assert int(linked[data[UI].edge_index[1]].sum()) == 97_554


def test_amazon_cd_hgcf(shared_data):
    data = read_hgcf(shared_data / "amazon-cd-hgcf")
    assert (data["user"].num_nodes, data["item"].num_nodes, num_edges(data)) == (22_947, 18_395, 422_301)
    mask = data[UI].train_mask
    assert (int(mask.sum()), int((~mask).sum())) == (328_779, 93_522)
    assert not getattr(data, "filter_log", None)  # no duplicates to remove


def test_auto_reads_every_real_folder(shared_data):
    sizes = {"ml-100k": 100_000, "lastfm-kgcn": 21_173, "amazon-cd-hgcf": 422_301,
             "ml-100k-kg-recbole": 100_000}
    for folder, edges in sizes.items():
        assert num_edges(read(shared_data / folder)) == edges, folder


def test_kgat_last_fm_test_repeats_and_kg(shared_data, tmp_path):
    # last-fm ships no train.txt; stand its test.txt in for it to read the rest.
    source = shared_data / "kgat" / "last-fm"
    for name in ("test.txt", "kg_final.txt.gz", "relation_list.txt", "entity_list.txt"):
        (tmp_path / name).symlink_to(source / name)
    (tmp_path / "train.txt").write_text("0 0\n")
    data = read_kgat(tmp_path)
    repeats = next(r for r in data.filter_log if r.step.startswith("repeated"))
    assert (repeats.removed, repeats.kept + repeats.removed) == (192_701, 616_336)
    assert int(data[UI].test_mask.sum()) == 616_336 - 192_701
    assert num_edges(data, KG) == 464_567
    assert data[KG].num_relations == 9
    assert data["entity"].num_nodes == 106_389
    assert data[KG].relation_raw_id[0] == "http://rdf.freebase.com/ns/common.topic.notable_types"
    assert num_edges(data, LINKS) == data["item"].num_nodes
