import numpy as np
import pytest

from reco_pipeline.publish.promotion import Guardrail, decide_promotion, paired_bootstrap


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


def test_bootstrap_clearly_better_promotes():
    rng = np.random.default_rng(1)
    champ = rng.uniform(0, 0.3, 2000)
    cand = champ + 0.05 + rng.normal(0, 0.02, 2000)
    ci = paired_bootstrap(cand, champ, 500, seed=3)
    assert 0.04 < ci.low < ci.mean_difference < ci.high < 0.06
    d = decide_promotion("ndcg@10", cand.mean(), champ.mean(), "1", interval=ci)
    assert d.promote and "interval" in d.reason


def test_bootstrap_noise_keeps_the_champion():
    rng = np.random.default_rng(2)
    champ = rng.uniform(0, 0.3, 300)
    cand = champ + rng.normal(0.002, 0.1, 300)  # slightly higher on average, but noise
    ci = paired_bootstrap(cand, champ, 500, seed=3)
    assert ci.low < 0 < ci.high
    d = decide_promotion("ndcg@10", cand.mean(), champ.mean(), "1", interval=ci)
    if cand.mean() > champ.mean():
        assert not d.promote and "not significant" in d.reason
    assert not d.promote


def test_bootstrap_is_seeded():
    a, b = np.linspace(0, 1, 50), np.linspace(0, 0.9, 50)
    assert paired_bootstrap(a, b, 200, seed=5) == paired_bootstrap(a, b, 200, seed=5)
    with pytest.raises(ValueError):
        paired_bootstrap(a, b[:10])


def test_guardrail_blocks_an_otherwise_better_model():
    g = Guardrail("coverage_at_10", candidate=0.05, champion=0.20, margin=0.05)
    d = decide_promotion("ndcg@10", 0.2, 0.1, "1", guardrails=[g])
    assert not g.passed and not d.promote and "guardrail failed" in d.reason
    ok = Guardrail("coverage_at_10", candidate=0.18, champion=0.20, margin=0.05)
    assert decide_promotion("ndcg@10", 0.2, 0.1, "1", guardrails=[ok]).promote


def test_decision_tags_are_strings_and_carry_the_interval():
    ci = paired_bootstrap(np.full(10, 0.2), np.full(10, 0.1), 50)
    g = Guardrail("coverage_at_10", 0.2, 0.2, 0.05)
    tags = decide_promotion("ndcg@10", 0.2, 0.1, "3", interval=ci, guardrails=[g]).as_tags()
    assert tags["reco.decision.alias"] == "champion" and tags["reco.decision.champion_version"] == "3"
    assert tags["reco.decision.ci_low"] == "0.100000" and tags["reco.decision.guardrail.coverage_at_10"].startswith("pass")
    assert all(isinstance(v, str) for v in tags.values())
