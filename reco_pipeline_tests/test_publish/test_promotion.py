from reco_pipeline.publish.promotion import decide_promotion


def test_first_model_becomes_champion():
    d = decide_promotion("ndcg@10", 0.1, None)
    assert d.promote and d.alias == "champion" and "first model" in d.reason


def test_better_model_is_promoted():
    d = decide_promotion("ndcg@10", 0.2, 0.1, "3")
    assert d.promote and d.alias == "champion" and d.champion_version == "3"


def test_equal_or_worse_stays_challenger():
    assert decide_promotion("ndcg@10", 0.1, 0.1, "3").alias == "challenger"
    assert not decide_promotion("ndcg@10", 0.09, 0.1, "3").promote


def test_min_improvement_margin():
    assert not decide_promotion("ndcg@10", 0.105, 0.1, "1", min_improvement=0.01).promote
    assert decide_promotion("ndcg@10", 0.111, 0.1, "1", min_improvement=0.01).promote


def test_decision_tags_are_strings():
    tags = decide_promotion("ndcg@10", 0.2, 0.1, "3").as_tags()
    assert tags["reco.decision.alias"] == "champion" and tags["reco.decision.champion_version"] == "3"
    assert all(isinstance(v, str) for v in tags.values())
