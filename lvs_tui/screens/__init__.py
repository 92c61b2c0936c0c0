"""Screens of the dashboard: the main fleet screen, the host view, and modals."""
