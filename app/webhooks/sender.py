"""One webhook attempt: a signed POST that cannot be turned against our own network (SSRF).

Signing is the Standard Webhooks scheme through the `standardwebhooks` library: headers
webhook-id, webhook-timestamp (epoch seconds) and webhook-signature ("v1,<base64 HMAC-SHA256>"
of "<id>.<timestamp>.<body>").

Sending goes through `requests-hardened`, which gives: a session that never follows redirects,
a default (connect, read) timeout, and an adapter that resolves the host name once, refuses the
address if it is private or multicast, and connects to that very address (the Host header and
the TLS server name stay the URL's host), so DNS rebinding between check and connect cannot
happen. This module adds what it lacks:
- a stricter address rule (`is_public_address`): only globally routable unicast addresses, so
  reserved, unspecified, link-local, shared (100.64/10) and documentation ranges are refused too;
- `trust_env = False`: no HTTP(S)_PROXY or .netrc from the environment (a proxy would connect
  to an address nobody checked);
- the response body is never read past RESPONSE_LIMIT_BYTES;
- `allow_private` (RESONANT_WEBHOOK_ALLOW_PRIVATE=1) lifts the address rule entirely.
Schemes other than http and https have no adapter, so requests refuses them.
"""
from __future__ import annotations

import ipaddress
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests
from requests_hardened import Config as HardenedConfig
from requests_hardened import HTTPSession
from requests_hardened.ip_filter import InvalidIPAddress, filter_host
from requests_hardened.ip_filter_adapter import IPFilterAdapter
from standardwebhooks import Webhook

log = logging.getLogger(__name__)

#: Bytes of a receiver's response body read at most (for the log); the rest is never read.
RESPONSE_LIMIT_BYTES = 4096
USER_AGENT = "Resonant-Webhooks/1.0"

#: What an attempt ended in.
DELIVERED, GONE, REFUSED, FAILED = "delivered", "gone", "refused", "failed"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class RefusedAddress(InvalidIPAddress):
    """The URL's host resolves to an address webhooks may not reach."""


def is_public_address(ip: IPAddress) -> bool:
    """True for a globally routable unicast address (IPv4-mapped IPv6 judged as its IPv4)."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_private or ip.is_loopback or ip.is_link_local
                                 or ip.is_multicast or ip.is_reserved or ip.is_unspecified)


def _check_public(host: str) -> None:
    """Raise RefusedAddress unless `host` (an address as urllib3 takes it, v6 in brackets) is public."""
    ip = ipaddress.ip_address(host.strip("[]"))
    if not is_public_address(ip):
        raise RefusedAddress(ip)


def pinned_address(hostname: str, port: int) -> str:
    """The address a request to `hostname`:`port` connects to, after both address rules
    (requests-hardened's, then ours); raises RefusedAddress / InvalidIPAddress."""
    host = filter_host(hostname, port, allow_loopback=False)
    _check_public(host)
    return host


class PublicOnlyAdapter(IPFilterAdapter):
    """requests-hardened's resolving, pinning, filtering adapter, plus `is_public_address`."""

    def __init__(self, *, is_https_proto: bool):
        super().__init__(is_https_proto=is_https_proto, allow_loopback=False)

    def build_connection_pool_key_attributes(self, request: Any, verify: Any, cert: Any = None) -> Any:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        _check_public(host_params["host"])  # the address the connection will be made to
        return host_params, pool_kwargs


def open_session(*, timeout_s: float, allow_private: bool) -> requests.Session:
    """A session for one attempt (close it): no redirects, timeouts, no proxies, address rule."""
    session = HTTPSession(HardenedConfig(
        ip_filter_enable=False,  # the stricter adapter below replaces its filter
        ip_filter_allow_loopback_ips=False,
        never_redirect=True,
        default_timeout=(timeout_s, timeout_s),
        user_agent_override=USER_AGENT,
    ))
    session.trust_env = False
    if not allow_private:
        session.mount("http://", PublicOnlyAdapter(is_https_proto=False))
        session.mount("https://", PublicOnlyAdapter(is_https_proto=True))
    return session


@dataclass(frozen=True)
class Attempt:
    """The end of one attempt: DELIVERED, GONE, REFUSED or FAILED, with what the receiver said."""

    result: str
    status: int | None = None
    retry_after: str | None = None
    detail: str = ""


def signed_headers(signer: Webhook, *, webhook_id: str, body: str, now_s: float) -> dict[str, str]:
    """The Standard Webhooks headers (and Content-Type) for `body` sent at `now_s` (epoch seconds)."""
    timestamp_s = int(now_s)
    signature = signer.sign(webhook_id, datetime.fromtimestamp(timestamp_s, tz=UTC), body)
    return {
        "Content-Type": "application/json",
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp_s),
        "webhook-signature": signature,
    }


def send(url: str, *, body: str, webhook_id: str, signer: Webhook, timeout_s: float,
         allow_private: bool) -> Attempt:
    """POST `body` to `url`, signed; any 2xx is DELIVERED, 410 GONE, a forbidden address or
    URL REFUSED, anything else (other statuses, 3xx included, network errors) FAILED."""
    headers = signed_headers(signer, webhook_id=webhook_id, body=body, now_s=time.time())
    try:
        with open_session(timeout_s=timeout_s, allow_private=allow_private) as session, \
                session.post(url, data=body.encode(), headers=headers, stream=True) as response:
            snippet = response.raw.read(RESPONSE_LIMIT_BYTES, decode_content=False) or b""
            status = response.status_code
            retry_after = response.headers.get("Retry-After")
    except InvalidIPAddress as err:
        return Attempt(REFUSED, detail=f"address refused: {err}")
    except (requests.exceptions.InvalidSchema, requests.exceptions.InvalidURL,
            requests.exceptions.MissingSchema) as err:
        return Attempt(REFUSED, detail=f"URL refused: {err}")
    except requests.RequestException as err:
        return Attempt(FAILED, detail=f"{type(err).__name__}: {err}")
    text = snippet.decode("utf-8", "replace")[:200]
    if 200 <= status < 300:
        return Attempt(DELIVERED, status)
    if status == 410:
        return Attempt(GONE, status, detail=text)
    return Attempt(FAILED, status, retry_after, detail=f"HTTP {status}: {text}")
