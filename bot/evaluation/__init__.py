"""Measurement: question-set figures and attribution scored against PolNeAR."""
