"""Benchmarks that print figures (never tests with time limits)."""
