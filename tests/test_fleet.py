"""Fleet lookups: IP -> owner, VIP -> hosts, host -> peers and admins."""

from __future__ import annotations

from pathlib import Path

from lvs_tui.config import load
from lvs_tui.fleet import Role, Side

ROOT = Path(__file__).resolve().parent.parent
FLEET = load(ROOT / "config.toml.example").fleet


def test_every_address_has_exactly_its_owner() -> None:
    for h in FLEET.hosts:
        assert FLEET.owner(h.internal).host is h and FLEET.owner(h.internal).side is Side.INTERNAL
        assert FLEET.owner(h.external).side is Side.EXTERNAL
    for v in FLEET.vips:
        o = FLEET.owner(v.address)
        assert o.vip is v and o.side is Side.VIP and o.hosts == v.hosts


def test_owner_tolerates_spacing_and_ipv6_spelling_and_rejects_junk() -> None:
    assert FLEET.owner(" 198.51.100.11\n").host.name == "lvs-cernet-01"
    assert FLEET.owner("2001:DB8:51:0:0:0:0:80").vip.service == "www-v6"
    assert FLEET.owner("198.51.100.250") is None
    assert FLEET.owner("not-an-ip") is None


def test_vip_to_hosts_and_host_to_vips() -> None:
    vip = FLEET.owner("198.51.100.120").vip
    assert [h.name for h in FLEET.hosts_of(vip)] == ["ha-telecom-01", "ha-telecom-02",
                                                     "ha-telecom-03"]
    assert [v.address for v in FLEET.vips_of("lvs-cernet-01")] == ["198.51.100.100",
                                                                   "198.51.100.101"]


def test_peers_by_group_and_by_shared_vips() -> None:
    assert [p.name for p in FLEET.peers(FLEET.host("ha-telecom-02"))] == ["ha-telecom-01",
                                                                         "ha-telecom-03"]
    assert FLEET.peers(FLEET.host("lvs-bgp-01")) == ()  # alone: a VIP with one host


def test_admins_of_host_and_its_vips_once_each() -> None:
    names = [c.name for c in FLEET.admins_of(FLEET.host("lvs-cernet-01"))]
    assert names == ["LVS 负责人", "www 业务管理员", "api 业务管理员"]


def test_contacts_by_role() -> None:
    assert [c.phone for c in FLEET.contacts_for(Role.DUTY_ROOM)] == ["010-62675666"]
    # the runbook informs 晓栋 (after a failed reboot); 朱建平 is @-mentioned in the group
    assert {c.name for c in FLEET.contacts_for(Role.INFORM)} == {"晓栋"}
    assert "朱建平" in {c.name for c in FLEET.contacts_for(Role.NOTIFY_GROUP)}


def test_lookup_is_constant_time_on_a_large_fleet() -> None:
    """The owner index is a dict built once: looking up 2,000 VIPs touches no list."""
    from lvs_tui.sim import demo_config

    fleet = demo_config(scale=12).fleet
    assert len(fleet.vips) > 1800
    assert all(fleet.owner(v.address).vip is v for v in fleet.vips)
    assert len(fleet._owner) == len(fleet.addresses())
