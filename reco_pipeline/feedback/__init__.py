"""Feedback loop: new events and the calendar trigger retraining without a person."""
