"""The configuration of hypgraph train: defaults per model, layers, checks, TOML."""
import tomllib

import pytest

from hypgraph.cli.config import NONE, SETTINGS, ConfigError, read_run_config, read_toml, resolve, to_toml


def test_the_default_model_is_the_graph_model_with_its_options():
    config = resolve([(None, {"data": {"path": "x.csv"}})])
    assert config == resolve([(None, {"data": {"path": "x.csv"}, "model": {"name": "graph"}})])
    assert config["model"]["hard_negatives"] and config["train"]["num_negatives"] == 5


def test_defaults_of_the_hyperbolic_model_are_the_recommended_ones():
    config = resolve([(None, {"data": {"path": "x.csv"}, "model": {"name": "hyperbolic"}})])
    assert config["model"] == dict(name="hyperbolic", manifold="lorentz", curvature=1.0, parameterization="tangent",
                                   dim=50, users="midpoint", score_kind="sqdist", init_scale=0.1)
    train = config["train"]
    assert (train["loss"], train["optimizer"], train["lr"], train["epochs"], train["patience"],
            train["metric"], train["margin"], train["num_negatives"]) == \
        ("bpr", "adam", 0.01, 50, 5, "ndcg@10", NONE, 1)
    assert config["split"]["method"] == "random" and config["split"]["test_ratio"] == 0.2
    assert config["data"]["min_rating"] == NONE


@pytest.mark.parametrize("overrides,optimizer", [
    ({"model": {"parameterization": "manifold"}}, "riemannian-adam"),
    ({"model": {"parameterization": "manifold", "manifold": "euclidean"}}, "adam"),
    ({"model": {"parameterization": "tangent", "manifold": "poincare"}}, "adam"),
    ({"model": {"name": "lightgcn"}}, "adam"),
    ({"model": {"parameterization": "manifold"}, "train": {"optimizer": "adam"}}, "adam"),
])
def test_optimizer_follows_the_parameterization(overrides, optimizer):
    assert resolve([(None, overrides)])["train"]["optimizer"] == optimizer


def test_every_model_gets_only_its_settings():
    graph = resolve([(None, {"model": {"name": "graph"}})])["model"]
    assert graph["num_layers"] == 3 and graph["normalization"] == "row" and "users" not in graph
    assert set(resolve([(None, {"model": {"name": "lightgcn"}})])["model"]) == {"name", "dim", "num_layers"}
    popularity = resolve([(None, {"model": {"name": "popularity"}})])
    assert popularity["model"] == {"name": "popularity"} and set(popularity["train"]) == {"seed"}
    assert resolve([(None, {"train": {"loss": "wmrb"}})])["train"]["margin"] == 1.0
    assert resolve([(None, {"train": {"loss": "wmrb"}})])["train"]["num_negatives"] == 10
    assert resolve([(None, {"train": {"loss": "hinge"}})])["train"]["margin"] == 0.1


def test_the_graph_model_defaults_to_hrcf_and_hicf_and_old_run_folders_keep_them_off(tmp_path):
    # the benchmarks' best hyperbolic rows: HRCF root alignment and origin penalty
    # 0.1, HICF's nearest of 5 negatives
    config = resolve([(None, {"model": {"name": "graph"}})])
    assert (config["model"]["root_alignment"], config["model"]["origin_weight"],
            config["model"]["hard_negatives"], config["train"]["num_negatives"]) == (True, 0.1, True, 5)
    plain = resolve([(None, {"model": {"name": "graph", "hard_negatives": False}})])
    assert plain["train"]["num_negatives"] == 1 and plain["model"]["root_alignment"] is True
    assert "root_alignment" not in resolve([(None, {"model": {"name": "hyperbolic"}})])["model"]
    with pytest.raises(ConfigError, match="model.hard_negatives does not apply to model 'hyperbolic'"):
        resolve([("f.toml", {"model": {"name": "hyperbolic", "hard_negatives": True}})])
    # a graph run folder written before these were settings trained without them
    old = dict(config)
    old["model"] = {k: v for k, v in config["model"].items()
                    if k not in ("root_alignment", "origin_weight", "hard_negatives")}
    old["train"] = {**config["train"], "num_negatives": 1}
    path = tmp_path / "config.toml"
    path.write_text(to_toml(old), encoding="utf-8")
    read = read_run_config(path, (None, {"train": {"epochs": 9}}))
    assert (read["model"]["root_alignment"], read["model"]["origin_weight"], read["model"]["hard_negatives"],
            read["train"]["num_negatives"], read["train"]["epochs"]) == (False, 0.0, False, 1, 9)
    path.write_text(to_toml(config), encoding="utf-8")
    assert read_run_config(path) == config


def test_later_layers_win():
    config = resolve([("a.toml", {"model": {"dim": 8}, "train": {"lr": 0.5}}), (None, {"model": {"dim": 4}})])
    assert config["model"]["dim"] == 4 and config["train"]["lr"] == 0.5


@pytest.mark.parametrize("layers,message", [
    ([(None, {"model": {"dim": 0}})], "--dim must be >= 1, got 0"),
    ([("f.toml", {"model": {"dim": 0}})], "f.toml: model.dim must be >= 1, got 0"),
    ([("f.toml", {"model": {"dim": "x"}})], "f.toml: model.dim must be an integer, got 'x'"),
    ([("f.toml", {"model": {"dims": 3}})], "f.toml: unknown setting model.dims; [model] has name, manifold"),
    ([("f.toml", {"models": {}})], "f.toml: unknown section [models]"),
    ([(None, {"model": {"name": "lightgcn", "manifold": "poincare"}})],
     "--manifold does not apply to model 'lightgcn' (it applies to hyperbolic, graph)"),
    ([(None, {"model": {"name": "popularity"}, "train": {"lr": 0.1}})], "--lr does not apply to model 'popularity'"),
    ([(None, {"train": {"margin": 0.5}})], "train.margin applies to wmrb and hinge, not bpr"),
    ([(None, {"train": {"metric": "auc"}})], "train.metric must be recall@K"),
    ([(None, {"split": {"test": "t.txt"}})], "--test needs --split given (the split is 'random')"),
    ([(None, {"split": {"method": "given", "valid": "v.txt"}})], "--valid needs a test file too"),
    ([(None, {"split": {"val_ratio": 1.0}})], "split.val_ratio must be in [0, 1), got 1.0"),
    ([(None, {"model": {"name": "hyperbolic", "manifold": "poincare", "score_kind": "inner"}})],
     "'inner' is not defined on the Poincare"),
    ([(None, {"model": {"manifold": "poincare", "score_kind": "inner"}})], "'inner' is not defined on the Poincare"),
    ([(None, {"data": {"min_rating": "high"}})], "--min-rating must be a finite number or 'none', got 'high'"),
])
def test_errors_name_the_setting_and_its_source(layers, message):
    with pytest.raises(ConfigError) as err:
        resolve(layers)
    assert message in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("name", ["hyperbolic", "graph", "lightgcn", "popularity"])
def test_toml_round_trip(tmp_path, name):
    config = resolve([(None, {"model": {"name": name}, "data": {"path": 'C:\\data\\"odd" ü.csv'}})])
    path = tmp_path / "config.toml"
    path.write_text(to_toml(config, "header line\nsecond"), encoding="utf-8")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# header line\n# second\n")
    assert tomllib.loads(text) == config
    assert resolve([(str(path), read_toml(path))]) == config


def test_every_setting_is_written_with_its_help():
    config = resolve([(None, {"model": {"name": "graph"}})])
    text = to_toml(config)
    for setting in SETTINGS:
        if setting.key in config[setting.section]:
            assert f"{setting.key} = " in text and setting.help in text


def test_read_toml_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[model\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad.toml:1: not valid TOML"):
        read_toml(bad)
    with pytest.raises(ConfigError, match="expected a TOML configuration file"):
        read_toml(tmp_path / "absent.toml")


def test_the_graph_model_is_built_with_the_options_the_config_names():
    from hypgraph.cli.run import build_model

    for options in ({}, {"root_alignment": False, "origin_weight": 0.0, "hard_negatives": False},
                    {"origin_weight": 0.3, "hard_negatives": False}):
        config = resolve([(None, {"model": {"name": "graph", **options}})])
        model = build_model(config, 7, 5)
        m = config["model"]
        assert (model.root_alignment, model.origin_weight, model.hard_negatives) == \
            (m["root_alignment"], m["origin_weight"], m["hard_negatives"])
    assert (model.root_alignment, model.origin_weight, model.hard_negatives) == (True, 0.3, False)


def test_the_adaptive_margin_is_off_by_default_and_needs_the_hinge():
    from hypgraph.cli.run import build_model

    config = resolve([(None, {"model": {"name": "graph"}})])
    assert config["model"]["adaptive_margin"] is False and not build_model(config, 7, 5).adaptive_margin
    on = resolve([(None, {"model": {"name": "graph", "adaptive_margin": True}, "train": {"loss": "hinge"}})])
    assert build_model(on, 7, 5).adaptive_margin and on["train"]["margin"] == 0.1
    with pytest.raises(ConfigError, match=r"s.toml: model.adaptive_margin scales the hinge's margin: it needs "
                                          r"train.loss = 'hinge' \(got 'bpr'\)"):
        resolve([("s.toml", {"model": {"name": "graph", "adaptive_margin": True}})])
    with pytest.raises(ConfigError, match="model.adaptive_margin does not apply to model 'hyperbolic'"):
        resolve([("s.toml", {"model": {"name": "hyperbolic", "adaptive_margin": True}})])
