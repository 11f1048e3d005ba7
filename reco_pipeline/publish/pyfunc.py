"""The registered artefact: an MLflow pyfunc wrapping a pickled :class:`Recommender`.

Input: a DataFrame with a ``user_id`` column. Params: ``k`` (default 10),
``exclude_purchased`` (default True), ``mode`` (``discovery``, the default, or ``buy_again``:
the learned ranking's weights for re-orders; pair it with ``exclude_purchased=False``) and
``repeat_weight`` (default 0; > 0 uses the hand-set blend instead of the learned ranking). Output: one row per recommendation
(``user_id, item_id, rank, score, source``); ``source`` says whether the model or the
popularity fallback (unknown user) answered.
"""

from __future__ import annotations

import pickle
import tempfile
from pathlib import Path

import mlflow.pyfunc
import pandas as pd

from reco_pipeline.recommender import Recommender
from reco_pipeline.schema import Columns

RECOMMENDER_ARTIFACT = "recommender"
DEFAULT_PARAMS = {"k": 10, "exclude_purchased": True, "mode": "discovery", "repeat_weight": 0.0}


class RecoPyfuncModel(mlflow.pyfunc.PythonModel):
    def load_context(self, context):
        with open(context.artifacts[RECOMMENDER_ARTIFACT], "rb") as fh:
            self.recommender: Recommender = pickle.load(fh)

    def predict(self, context, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        params = {**DEFAULT_PARAMS, **(params or {})}
        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        if Columns.User not in frame.columns:
            raise ValueError(f"input needs a '{Columns.User}' column; got {list(frame.columns)}")
        k = int(params["k"])
        if not 1 <= k <= self.recommender.item_map.size:
            raise ValueError(f"k must be between 1 and {self.recommender.item_map.size}; got {k}")
        return self.recommender.recommend(frame[Columns.User].astype(str).tolist(), k,
                                          exclude_purchased=bool(params["exclude_purchased"]),
                                          mode=str(params["mode"]),
                                          repeat_weight=float(params["repeat_weight"]) or None)


def save_pyfunc(recommender: Recommender, path: Path, example_users: list[str]) -> Path:
    """Write the pyfunc model folder (MLmodel, signature, input example, pickled recommender)."""
    from mlflow.models import infer_signature

    path = Path(path)
    with tempfile.TemporaryDirectory() as tmp:
        pkl = Path(tmp) / "recommender.pkl"
        with open(pkl, "wb") as fh:
            pickle.dump(recommender, fh, protocol=pickle.HIGHEST_PROTOCOL)
        example = pd.DataFrame({Columns.User: [str(u) for u in example_users[:3]]})
        output = recommender.recommend(example[Columns.User].tolist(), DEFAULT_PARAMS["k"])
        signature = infer_signature(example, output, params=DEFAULT_PARAMS)
        mlflow.pyfunc.save_model(
            path=str(path),
            python_model=str(Path(__file__).with_name("pyfunc_entry.py")),
            artifacts={RECOMMENDER_ARTIFACT: str(pkl)},
            signature=signature,
            input_example=example,
            # Explicit requirements: inferring them would import and run the model in a subprocess.
            pip_requirements=["mlflow==3.17.2", "rectools-lightfm==1.17.3", "pandas<3", "numpy", "scipy",
                              "scikit-learn", "reco-pipeline"],
        )
    return path


def load_recommender(model_dir: str | Path) -> Recommender:
    """Load a pyfunc model folder back into the Recommender it wraps (through MLflow's own loader)."""
    model = mlflow.pyfunc.load_model(str(model_dir))
    return model.unwrap_python_model().recommender
