"""Create or drop a PostgreSQL database on 127.0.0.1 (used by .ci/run).

Usage: ``python scripts/pgdb.py create|drop --port 5432 NAME``.
"""

from __future__ import annotations

import argparse
import re

import psycopg2
from psycopg2 import sql


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("action", choices=["create", "drop"])
    parser.add_argument("name")
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--user", default="postgres")
    args = parser.parse_args()
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", args.name):
        raise SystemExit(
            f"database name must be lower-case letters, digits and _, was {args.name!r}"
        )
    conn = psycopg2.connect(host="127.0.0.1", port=args.port, user=args.user, dbname="postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        if args.action == "create":
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(args.name)))
        else:
            cur.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(args.name))
            )
    conn.close()


if __name__ == "__main__":
    main()
