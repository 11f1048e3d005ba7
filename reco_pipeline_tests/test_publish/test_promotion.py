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


def _report_with_cold_slices(cold_items_candidate: float, cold_items_champion: float):
    import pandas as pd

    from reco_pipeline.evaluate.protocol import CANDIDATE, CHAMPION, EvaluationReport, ModelEvaluation

    rng = np.random.default_rng(0)
    champ = rng.uniform(0, 0.2, 400)
    models = [ModelEvaluation("lightfm_hybrid", CANDIDATE, {"ndcg@10": champ.mean() + 0.2, "coverage@10": 0.5}, {},
                              pd.DataFrame({"ndcg": champ + 0.2})),
              ModelEvaluation("champion_v1", CHAMPION, {"ndcg@10": champ.mean(), "coverage@10": 0.5}, {},
                              pd.DataFrame({"ndcg": champ}))]
    report = EvaluationReport("discovery", 10, 400, 800, 100, models)

    def frame(model, value):
        return pd.DataFrame({"model": [model], "users": [30], "ndcg@10": [value]})

    report.slices.update(cold_users=frame("lightfm_hybrid", 0.1), cold_users_champion=frame("champion_v1", 0.1),
                         cold_items=frame("lightfm_hybrid", cold_items_candidate),
                         cold_items_champion=frame("champion_v1", cold_items_champion))
    return report


def test_gate_blocks_a_model_that_forgets_new_products():
    from reco_pipeline.publish.promotion import GateSettings, gate_from_evaluation

    settings = GateSettings(bootstrap_resamples=200)
    worse = gate_from_evaluation(_report_with_cold_slices(0.10, 0.40), settings)
    assert not worse.promote and "cold_items_ndcg_at_10" in worse.reason
    assert {g.name for g in worse.guardrails} == {"coverage_at_10", "cold_users_ndcg_at_10", "cold_items_ndcg_at_10"}
    assert gate_from_evaluation(_report_with_cold_slices(0.39, 0.40), settings).promote  # within the margin
