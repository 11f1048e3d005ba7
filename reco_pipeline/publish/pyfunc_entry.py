"""MLflow "models from code" entry point: MLflow copies this file into each logged model and runs it
on load, instead of unpickling a Python object (the model's state is the pickled Recommender artifact)."""

import mlflow.models

from reco_pipeline.publish.pyfunc import RecoPyfuncModel

mlflow.models.set_model(RecoPyfuncModel())
