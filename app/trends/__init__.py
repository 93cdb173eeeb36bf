"""Incident trends (警情趋势) and the seasonal focus they propose for the next cycle."""
