"""Widgets of the dashboard: they render a Board, they never read sources or do I/O."""
