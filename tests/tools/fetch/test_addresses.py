"""The address verdicts, one per special-purpose range, and the allow-list's reach."""

from __future__ import annotations

import ipaddress

import pytest

from openscope.tools.fetch import networks, refusal
from openscope.tools.fetch.addresses import parse_literal


@pytest.mark.parametrize(
    ("address", "label"),
    [
        ("127.0.0.1", "loopback"),
        ("10.255.0.1", "private"),
        ("172.31.255.255", "private"),
        ("192.168.0.1", "private"),
        ("169.254.169.254", "link-local (cloud metadata endpoint)"),
        ("169.254.0.1", "link-local"),
        ("100.127.255.255", "carrier-grade NAT (shared address space)"),
        ("0.0.0.0", "unspecified ('this network')"),
        ("239.255.255.250", "multicast"),
        ("255.255.255.255", "reserved"),
        ("192.0.2.1", "documentation"),
        ("198.18.0.1", "benchmarking"),
        ("::", "unspecified"),
        ("::1", "loopback"),
        ("::7f00:1", "IPv4-compatible (deprecated)"),
        ("fd12:3456::1", "unique local (private)"),
        ("fe80::1", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("ff02::1", "multicast"),
        ("2001:db8::1", "documentation"),
        ("::ffff:127.0.0.1", "loopback (as ::ffff:7f00:1)"),
        ("::ffff:192.168.1.1", "private (as ::ffff:c0a8:101)"),
        ("64:ff9b::a9fe:a9fe", "link-local (cloud metadata endpoint) (as 64:ff9b::a9fe:a9fe)"),
        ("2002:a00:1::1", "private (as 2002:a00:1::1)"),
    ],
)
def test_each_special_range_is_refused_with_its_name(address: str, label: str) -> None:
    assert refusal(ipaddress.ip_address(address)) == label


@pytest.mark.parametrize(
    "address", ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]
)
def test_public_addresses_are_allowed(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is None


def test_the_allow_list_opens_exactly_its_networks() -> None:
    allow = networks("127.0.0.1", "10.1.0.0/16", "fd00::/8")
    assert refusal(ipaddress.ip_address("127.0.0.1"), allow) is None
    assert refusal(ipaddress.ip_address("::ffff:127.0.0.1"), allow) is None  # same host
    assert refusal(ipaddress.ip_address("127.0.0.2"), allow) == "loopback"
    assert refusal(ipaddress.ip_address("10.1.200.3"), allow) is None
    assert refusal(ipaddress.ip_address("10.2.0.1"), allow) == "private"
    assert refusal(ipaddress.ip_address("fd00::5"), allow) is None
    assert refusal(ipaddress.ip_address("::1"), allow) == "loopback"


def test_literal_hosts_are_parsed_with_or_without_brackets() -> None:
    assert parse_literal("[::1]") == ipaddress.ip_address("::1")
    assert parse_literal("10.0.0.1") == ipaddress.ip_address("10.0.0.1")
    assert parse_literal("example.com") is None
    assert parse_literal("127.1") is None
