"""reco-pipeline."""
