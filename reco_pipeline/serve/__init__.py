"""Serve: the real-time recommendation API that follows the registry's champion alias."""
