"""Evaluate: ranking metrics on the temporal holdout for the candidate, baselines and the champion."""
