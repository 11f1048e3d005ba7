import numpy as np
import pytest

from reco_pipeline.train.model import TrainSettings, fit_lightfm
from reco_pipeline_tests.conftest import TINY_TRAIN


def test_single_thread_training_is_bit_reproducible(tiny_dataset, tiny_trained):
    again = fit_lightfm(tiny_dataset, TINY_TRAIN)
    assert np.array_equal(again.recommender.item_vectors, tiny_trained.recommender.item_vectors)
    assert np.array_equal(again.recommender.user_vectors, tiny_trained.recommender.user_vectors)


def test_seed_changes_the_model(tiny_dataset, tiny_trained):
    other = fit_lightfm(tiny_dataset, TrainSettings(**{**TINY_TRAIN.params(), "seed": 99}))
    assert not np.array_equal(other.recommender.item_vectors, tiny_trained.recommender.item_vectors)


def test_folded_vectors_reproduce_lightfm_predict(tiny_dataset, tiny_trained):
    rec = tiny_trained.recommender
    model = rec.model
    users = np.array([0, 3, 7])
    items = np.arange(tiny_dataset.shape[1])
    for u in users:
        expected = model.predict(np.full(len(items), u, dtype=np.int32), items.astype(np.int32),
                                 user_features=tiny_dataset.user_features, item_features=tiny_dataset.item_features)
        assert np.allclose(rec.score_known(np.array([u]))[0], expected, rtol=1e-4, atol=1e-4)


def test_divergence_is_an_error(tiny_dataset):
    with pytest.raises(FloatingPointError, match="diverged"):
        fit_lightfm(tiny_dataset, TrainSettings(no_components=8, epochs=3, learning_rate=1e6, loss="logistic",
                                                learning_schedule="adagrad"))
