"""Featurize: temporal split, interaction weights, feature matrices and the typed dataset container."""
