"""Where a venue lives: REST and websocket base URLs per environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum, unique
from urllib.parse import urlsplit

from serenity.errors import ConfigError

__all__ = ["Endpoints", "Environment", "resolve_endpoints"]


@unique
class Environment(StrEnum):
    """Which of a venue's deployments to talk to."""

    PROD = "prod"
    TESTNET = "testnet"


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Base URLs of one deployment of a venue: ``rest`` (https) and ``ws`` (wss)."""

    rest: str
    ws: str

    def __post_init__(self) -> None:
        for name, url, schemes in (
            ("rest", self.rest, ("http", "https")),
            ("ws", self.ws, ("ws", "wss")),
        ):
            parts = urlsplit(url)
            if parts.scheme not in schemes or not parts.netloc:
                raise ConfigError(f"{name} endpoint must be a {'/'.join(schemes)} URL, was {url!r}")

    def with_rest(self, rest: str) -> Endpoints:
        """Return these endpoints with the REST base URL replaced (e.g. a local test server)."""
        return Endpoints(rest=rest.rstrip("/"), ws=self.ws)


def resolve_endpoints(
    venue: str,
    table: Mapping[Environment, Endpoints],
    *,
    environment: Environment | str = Environment.PROD,
    rest_url: str | None = None,
) -> Endpoints:
    """Return a venue's endpoints for ``environment``, optionally with a custom REST base URL.

    Raises
    ------
    ConfigError
        When the environment is unknown or the custom URL is not http(s).
    """
    try:
        env = Environment(str(environment).lower())
        endpoints = table[env]
    except (ValueError, KeyError):
        raise ConfigError(
            f"{venue}: unknown environment {environment!r}, expected one of "
            f"{sorted(e.value for e in table)}"
        ) from None
    return endpoints if rest_url is None else endpoints.with_rest(rest_url)
