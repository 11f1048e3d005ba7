"""Validate: row-level cleaning (valid + quarantined-with-reason) and Great Expectations suites."""
