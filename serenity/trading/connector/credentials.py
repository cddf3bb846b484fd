"""API credentials for a venue: from the environment or a file outside the repository.

For venue ``binance`` and instance ``testnet`` the environment is read in this order:

1. ``SERENITY_BINANCE_TESTNET_API_KEY`` / ``..._API_SECRET`` / ``..._API_PASSPHRASE``
   (the instance's own keys: testnet and production keys differ);
2. ``SERENITY_BINANCE_API_KEY`` / ``SERENITY_BINANCE_API_SECRET`` /
   ``SERENITY_BINANCE_API_PASSPHRASE``;
3. a credentials file named by ``SERENITY_BINANCE_TESTNET_CREDENTIALS`` or
   ``SERENITY_BINANCE_CREDENTIALS`` (or given as ``path``): YAML or JSON with the keys
   ``api_key``, ``api_secret`` and, for venues that use one, ``api_passphrase``.

The file must lie outside any git work tree (so it is never committed) and should be
readable by its owner only. Values are held in :class:`~serenity.Secret` and never reach a
log, a repr or an error message.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from serenity.errors import ConfigError
from serenity.secret import Secret

__all__ = ["Credentials"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Credentials:
    """One API key of one venue account.

    Attributes
    ----------
    venue
        The venue the key belongs to (for messages).
    api_key
        The key's public part, sent with each request.
    secret
        The signing secret.
    passphrase
        The key's passphrase, for venues that have one (Coinbase Exchange).
    source
        Where the key was read from (an environment variable name or a file path; never a
        value).
    """

    venue: str
    api_key: Secret
    secret: Secret
    passphrase: Secret | None = None
    source: str = ""

    @classmethod
    def load(
        cls,
        venue: str,
        *,
        instance: str | None = None,
        path: str | Path | None = None,
        environ: Mapping[str, str] | None = None,
        needs_passphrase: bool = False,
    ) -> Credentials:
        """Return the credentials of ``venue`` (see the module docstring for the order).

        Parameters
        ----------
        venue
            Venue code, e.g. ``binance``.
        instance
            The placer instance (``prod``, ``testnet``, ...), whose own variables win.
        path
            A credentials file to read instead of the environment.
        environ
            The environment to read (``os.environ`` by default).
        needs_passphrase
            Require a passphrase (Coinbase Exchange keys have one).

        Raises
        ------
        ConfigError
            When no key is found, a part of it is missing or empty, or the file is
            unreadable, malformed or inside a git work tree; the message names the venue,
            what is missing and where it was looked for.
        """
        env = os.environ if environ is None else environ
        prefixes = []
        if instance:
            prefixes.append(f"SERENITY_{_upper(venue)}_{_upper(instance)}_")
        prefixes.append(f"SERENITY_{_upper(venue)}_")
        if path is None:
            for prefix in prefixes:
                if env.get(prefix + "API_KEY") or env.get(prefix + "API_SECRET"):
                    return cls._from_env(venue, prefix, env, needs_passphrase)
            for prefix in prefixes:
                named = env.get(prefix + "CREDENTIALS")
                if named:
                    path = named
                    break
        if path is None:
            names = " or ".join(f"{p}API_KEY and {p}API_SECRET" for p in prefixes)
            files = " or ".join(f"{p}CREDENTIALS" for p in prefixes)
            raise ConfigError(
                f"{venue}: no API credentials; set {names}, or name a credentials file in {files}"
            )
        return cls._from_file(venue, Path(path), needs_passphrase)

    @classmethod
    def _from_env(
        cls, venue: str, prefix: str, env: Mapping[str, str], needs_passphrase: bool
    ) -> Credentials:
        values = {
            part: env.get(prefix + name, "")
            for part, name in (
                ("api_key", "API_KEY"),
                ("api_secret", "API_SECRET"),
                ("api_passphrase", "API_PASSPHRASE"),
            )
        }
        return cls._build(venue, values, f"environment {prefix}*", needs_passphrase, prefix)

    @classmethod
    def _from_file(cls, venue: str, path: Path, needs_passphrase: bool) -> Credentials:
        try:
            resolved = path.expanduser().resolve(strict=True)
        except (FileNotFoundError, RuntimeError, OSError):
            raise ConfigError(f"{venue}: credentials file {str(path)!r} does not exist") from None
        repo = _git_work_tree(resolved)
        if repo is not None:
            raise ConfigError(
                f"{venue}: credentials file {str(resolved)!r} is inside the git work tree "
                f"{str(repo)!r}; keep it outside any repository"
            )
        try:
            text = resolved.read_text()
            mode = resolved.stat().st_mode
        except OSError as exc:
            raise ConfigError(
                f"{venue}: cannot read credentials file {str(resolved)!r}: {exc.strerror}"
            ) from None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            log.warning(
                "credentials.file_permissions",
                extra={"venue": venue, "path": str(resolved), "mode": oct(mode & 0o777)},
            )
        try:
            doc: Any = yaml.safe_load(text)
        except yaml.YAMLError:
            doc = None  # the parser's message may quote the file's text: say nothing of it
        if not isinstance(doc, dict):
            raise ConfigError(
                f"{venue}: credentials file {str(resolved)!r} must be a YAML or JSON mapping "
                "with api_key and api_secret"
            )
        values = {
            k: "" if doc.get(k) is None else str(doc.get(k))
            for k in ("api_key", "api_secret", "api_passphrase")
        }
        return cls._build(venue, values, f"file {str(resolved)!r}", needs_passphrase, "")

    @classmethod
    def _build(
        cls,
        venue: str,
        values: Mapping[str, str],
        source: str,
        needs_passphrase: bool,
        prefix: str,
    ) -> Credentials:
        wanted = ["api_key", "api_secret"] + (["api_passphrase"] if needs_passphrase else [])
        missing = [(prefix + k.upper()) if prefix else k for k in wanted if not values[k].strip()]
        if missing:
            raise ConfigError(
                f"{venue}: incomplete API credentials in {source}: "
                f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing or empty"
            )
        passphrase = values["api_passphrase"].strip()
        return cls(
            venue=venue,
            api_key=Secret(values["api_key"].strip()),
            secret=Secret(values["api_secret"].strip()),
            passphrase=Secret(passphrase) if passphrase else None,
            source=source,
        )


def _upper(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in str(name)).upper()


def _git_work_tree(path: Path) -> Path | None:
    """Return the git work tree holding ``path``, or None."""
    for parent in path.parents:
        if (parent / ".git").exists():
            return parent
    return None
