"""Evaluation metrics for dubbed videos."""
