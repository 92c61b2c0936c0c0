"""The duty terminal's own source address toward a destination, for the network handoff.

The network duty needs the real source of a failing path. The kernel knows which address it
would send from: connecting a UDP socket performs the route lookup and binds the local end,
and sends no packet (UDP has no handshake).
"""

from __future__ import annotations

import ipaddress
import socket

_PORT = 9  # discard; never used: connect() on UDP only picks the route


def source_address(dst: str) -> str | None:
    """The local address the kernel would use to reach `dst`; None when there is no route
    (or `dst` is not an address)."""
    try:
        ip = ipaddress.ip_address(dst.strip())
    except ValueError:
        return None
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            s.connect((str(ip), _PORT))
            local = s.getsockname()[0]
    except OSError:
        return None
    return str(ipaddress.ip_address(local.split("%", 1)[0]))
