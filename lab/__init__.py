"""The netns test lab: LVS hosts in network namespaces, probed from a sealed duty namespace.

See docs/lab.md and `python -m lab up|down|status`.
"""
