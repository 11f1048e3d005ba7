"""Publish: MLflow run, pyfunc model, registry aliases with a promotion gate, batch recommendations."""
