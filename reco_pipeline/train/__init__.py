"""Train: fit the hybrid LightFM model on an InteractionDataset."""
