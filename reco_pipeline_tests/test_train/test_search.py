import pandas as pd

from reco_pipeline.featurize.dataset import FeaturizeSettings
from reco_pipeline.featurize.weights import DEFAULT_EVENT_WEIGHTS
from reco_pipeline.schema import Columns
from reco_pipeline.train.model import TrainSettings
from reco_pipeline.train.search import SearchSettings, apply_featurize_overrides, run_search

SETTINGS = SearchSettings(n_trials=3, max_epochs=10, eval_every=5, validation_days=25, seed=1)


def test_search_is_seeded_uses_a_validation_window_and_starts_from_the_defaults(tiny_split, tiny_raw):
    seen = []
    base_f, base_t = FeaturizeSettings(DEFAULT_EVENT_WEIGHTS), TrainSettings(no_components=16, seed=1)
    a = run_search(tiny_split, tiny_raw.users, tiny_raw.items, base_f, base_t, SETTINGS,
                   on_trial=lambda n, p, v, e: seen.append((n, v)))
    b = run_search(tiny_split, tiny_raw.users, tiny_raw.items, base_f, base_t, SETTINGS)
    pd.testing.assert_frame_equal(a.trials, b.trials)
    assert len(a.trials) == 3 and [n for n, _ in seen] == [0, 1, 2]
    # Tuning never looks at the holdout: its validation window ends where training data ends.
    assert a.validation_cutoff < tiny_split.cutoff
    assert tiny_split.train[Columns.Datetime].max() < tiny_split.cutoff
    first = a.trials.iloc[0]
    assert first["no_components"] == 16 and first["learning_rate"] == base_t.learning_rate
    assert a.best_value >= a.default_value and 1 <= a.train_overrides["epochs"] <= SETTINGS.max_epochs


def test_featurize_overrides_touch_only_searched_fields():
    base = FeaturizeSettings(DEFAULT_EVENT_WEIGHTS, positive_event_types=("purchase",))
    out = apply_featurize_overrides(base, {"recency_half_life_days": 30.0, "view_weight": 0.5, "item_features": False})
    assert out.recency_half_life_days == 30.0 and out.event_weights["view"] == 0.5 and not out.item_features
    assert out.event_weights["purchase"] == DEFAULT_EVENT_WEIGHTS["purchase"] and out.positive_event_types == ("purchase",)
