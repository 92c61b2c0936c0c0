"""lvs-tui: the duty console for an LVS load-balancer fleet."""

__version__ = "0.1.0"
