"""Collect: read a source into canonical (but not yet validated) interactions, users and items."""
