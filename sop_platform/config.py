"""Every environment variable the platform reads, validated in one place.

:func:`load` reads the environment once and either returns a :class:`Config` or raises
:class:`ConfigError` listing **every** problem it found (a missing secret, a URL that is not a
database URL, a number that is not a number), each naming the variable and what to write
instead. :func:`check_database` then makes sure the database answers, and
:func:`check_production` refuses a production start with a placeholder secret or while demo
accounts (the demo password) exist.

The README's "Configuration" table is :func:`markdown_table`; a test keeps the two in step.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

DEFAULT_URL = "sqlite:///sop.db"
MIN_SECRET = 32
# The placeholder written in docs/deployment.md's example environment file: a production start
# with it copied unchanged must fail.
EXAMPLE_SECRET = "ganti-dengan-rahasia-acak-minimal-32-karakter"


@dataclass(frozen=True)
class Variable:
    name: str
    default: str
    meaning: str


VARIABLES: tuple[Variable, ...] = (
    Variable("SOP_ENV", "`development`", "`production` turns on the start-up refusals below"),
    Variable(
        "SOP_DATABASE_URL",
        "`sqlite:///sop.db`",
        "the database: `sqlite:///PATH` or `postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB`",
    ),
    Variable("SOP_DEFINITIONS", "`./sop_definitions`", "where region and SOP files are read from"),
    Variable(
        "SOP_WEB_SECRET",
        "generated once into the store (development only)",
        "signs CSRF tokens; at least 32 characters; **required in production**",
    ),
    Variable("SOP_WEB_STORE", "`./.sop-web`", "sessions and sign-in attempt counts (files)"),
    Variable(
        "SOP_UPLOADS",
        "`./.sop-uploads`",
        "citizens' photos (files; their records are in the database): back it up with it",
    ),
    Variable("SOP_WEB_SECURE_COOKIES", "`0`", "`1` behind HTTPS: cookies only over TLS"),
    Variable(
        "SOP_WEB_FORWARDED_ALLOW_IPS",
        "`127.0.0.1`",
        "reverse proxies trusted for `X-Forwarded-For` / `X-Forwarded-Proto`",
    ),
    Variable("SOP_WEB_HOST", "`127.0.0.1`", "address `sop serve` listens on"),
    Variable("SOP_WEB_PORT", "`8000`", "port `sop serve` listens on"),
    Variable("SOP_WEB_WORKERS", "`1`", "app processes `sop serve` starts (`--workers` wins)"),
    Variable(
        "SOP_WORKERS_IN_APP",
        "`1` (one app process), `0` (several)",
        "`1`: run the sweeper and delivery worker inside the app; "
        "`0`: run `sop sweep` and `sop deliver` as their own processes",
    ),
    Variable("SOP_DEMO", "`0`", "`1`: migrate, publish and create the demo logins at start"),
    Variable("SOP_LOG_FORMAT", "`text`", "`json`: one JSON object per line (with `request_id`)"),
    Variable("SOP_LOG_LEVEL", "`INFO`", "`DEBUG`, `INFO`, `WARNING` or `ERROR`"),
    Variable(
        "SOP_READY_WORKER_AGE",
        "`60`",
        "seconds without a sweeper heartbeat after which `/ready` answers 503",
    ),
    Variable(
        "SOP_SMTP_*, SOP_WEBHOOK_*",
        "unset",
        "notification channels, see [`docs/notifications.md`](docs/notifications.md)",
    ),
    Variable(
        "SOP_TEST_DATABASE_URL",
        "unset",
        "PostgreSQL for the tests' PostgreSQL variants (tests only)",
    ),
)


def markdown_table() -> str:
    """The variables as the README's table (one row each)."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    rows += [f"| `{v.name}` | {v.default} | {v.meaning} |" for v in VARIABLES]
    return "\n".join(rows) + "\n"


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class ConfigError(ValueError):
    """The configuration cannot be used; ``problems`` holds one line per mistake."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))

    def __str__(self) -> str:
        count = len(self.problems)
        head = (
            "the configuration has a problem" if count == 1 else f"{count} configuration problems"
        )
        return head + ":\n" + "\n".join(f"  - {p}" for p in self.problems)


@dataclass(frozen=True)
class Config:
    """The platform's settings, as read from the environment."""

    production: bool
    database_url: str
    definitions: Path | None  # None: the default lookup of sop_platform.definitions
    web_secret: str | None  # None: generated once into the store (never in production)
    web_store: Path
    uploads: Path
    secure_cookies: bool
    forwarded_allow_ips: str
    host: str
    port: int
    web_workers: int
    workers_in_app: bool
    demo: bool
    log_format: str
    log_level: str
    ready_worker_age: float

    @property
    def safe_database_url(self) -> str:
        """The URL with any password hidden, for logs and messages."""
        return make_url(self.database_url).render_as_string(hide_password=True)

    @property
    def is_sqlite(self) -> bool:
        return make_url(self.database_url).get_backend_name() == "sqlite"

    def secret(self) -> str:
        """The configured secret, else the one kept in the store (made on first use)."""
        if self.web_secret:
            return self.web_secret
        path = self.web_store / "secret"
        if path.is_file():
            saved = path.read_text().strip()
            if len(saved) >= MIN_SECRET:
                return saved
        self.web_store.mkdir(parents=True, exist_ok=True)
        made = secrets.token_urlsafe(48)
        path.write_text(made + "\n")
        path.chmod(0o600)
        return made


def _flag(env: Mapping[str, str], name: str, default: bool, problems: list[str]) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    problems.append(f"{name} must be 1 or 0 (true/false, yes/no, on/off), not '{raw}'")
    return default


def _number(
    env: Mapping[str, str], name: str, default: int, low: int, high: int, problems: list[str]
) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        problems.append(f"{name} must be a whole number from {low} to {high}, not '{raw}'")
        return default
    return int(raw)


def check_url(url: str) -> str | None:
    """Why ``url`` is not a database URL the platform can use, or ``None`` when it is."""
    try:
        parsed: URL = make_url(url)
    except ArgumentError:
        return (
            f"'{url}' is not a database URL; write sqlite:///PATH/sop.db or "
            "postgresql+psycopg://USER:PASSWORD@HOST:5432/DBNAME"
        )
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if not parsed.database:
            return "a SQLite URL needs a file: sqlite:///PATH/sop.db (three slashes, then the path)"
        return None
    if backend == "postgresql":
        if parsed.get_driver_name() not in ("psycopg", "psycopg2", ""):
            return (
                "PostgreSQL is reached through psycopg (version 3): write "
                f"postgresql+psycopg://..., not postgresql+{parsed.get_driver_name()}://..."
            )
        if not parsed.database:
            return "a PostgreSQL URL needs a database name: postgresql+psycopg://USER@HOST/DBNAME"
        return None
    return f"unsupported database '{backend}' in '{url}': use sqlite or postgresql"


def load(environ: Mapping[str, str] | None = None) -> Config:
    """The configuration from ``environ`` (default: the process environment), or ConfigError."""
    env = os.environ if environ is None else environ
    problems: list[str] = []

    mode = env.get("SOP_ENV", "").strip().lower() or "development"
    if mode not in ("development", "production"):
        problems.append(f"SOP_ENV must be 'development' or 'production', not '{mode}'")
    production = mode == "production"

    url = env.get("SOP_DATABASE_URL", "").strip() or DEFAULT_URL
    if (why := check_url(url)) is not None:
        problems.append(f"SOP_DATABASE_URL: {why}")

    definitions_text = env.get("SOP_DEFINITIONS", "").strip()
    definitions = Path(definitions_text) if definitions_text else None
    if definitions is not None and not definitions.is_dir():
        problems.append(f"SOP_DEFINITIONS: '{definitions}' is not a folder of region/SOP files")

    secret = env.get("SOP_WEB_SECRET", "").strip() or None
    if secret is None:
        if production:
            problems.append(
                "SOP_WEB_SECRET is missing; production needs a fixed secret of at least "
                f"{MIN_SECRET} characters, e.g. the output of "
                "`python3 -c 'import secrets; print(secrets.token_urlsafe(48))'`"
            )
    elif len(secret) < MIN_SECRET:
        problems.append(
            f"SOP_WEB_SECRET is {len(secret)} characters long; it must have at least {MIN_SECRET}"
        )
    elif production and (secret == EXAMPLE_SECRET or len(set(secret)) < 8):
        problems.append(
            "SOP_WEB_SECRET is the example or a placeholder; production needs a random secret"
        )

    store = Path(env.get("SOP_WEB_STORE", "").strip() or ".sop-web")
    uploads = Path(env.get("SOP_UPLOADS", "").strip() or ".sop-uploads")
    secure = _flag(env, "SOP_WEB_SECURE_COOKIES", False, problems)
    port = _number(env, "SOP_WEB_PORT", 8000, 1, 65535, problems)
    web_workers = _number(env, "SOP_WEB_WORKERS", 1, 1, 64, problems)
    # With several app processes the in-app workers would run once per process: off by default.
    workers_in_app = _flag(env, "SOP_WORKERS_IN_APP", web_workers == 1, problems)
    demo = _flag(env, "SOP_DEMO", False, problems)
    if production and demo:
        problems.append("SOP_DEMO=1 creates the demo logins; it is refused in production")

    log_format = env.get("SOP_LOG_FORMAT", "").strip().lower() or "text"
    if log_format not in ("text", "json"):
        problems.append(f"SOP_LOG_FORMAT must be 'text' or 'json', not '{log_format}'")
    log_level = env.get("SOP_LOG_LEVEL", "").strip().upper() or "INFO"
    if log_level not in _LEVELS:
        problems.append(f"SOP_LOG_LEVEL must be one of {', '.join(_LEVELS)}, not '{log_level}'")
    age = _number(env, "SOP_READY_WORKER_AGE", 60, 2, 86400, problems)

    from sop_platform.delivery import ConfigError as ChannelError
    from sop_platform.delivery import Transports

    try:
        Transports.from_env(env)
    except ChannelError as err:
        problems.append(str(err))

    if problems:
        raise ConfigError(problems)
    return Config(
        production=production,
        database_url=url,
        definitions=definitions,
        web_secret=secret,
        web_store=store,
        uploads=uploads,
        secure_cookies=secure,
        forwarded_allow_ips=env.get("SOP_WEB_FORWARDED_ALLOW_IPS", "").strip() or "127.0.0.1",
        host=env.get("SOP_WEB_HOST", "").strip() or "127.0.0.1",
        port=port,
        web_workers=web_workers,
        workers_in_app=workers_in_app,
        demo=demo,
        log_format=log_format,
        log_level=log_level,
        ready_worker_age=float(age),
    )


def check_database(engine: Engine, config: Config) -> None:
    """Raise ConfigError unless the database answers a query."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as err:
        reason = str(getattr(err, "orig", None) or err).strip().splitlines()[0]
        raise ConfigError(
            [f"SOP_DATABASE_URL: the database {config.safe_database_url} does not answer: {reason}"]
        ) from err


def demo_accounts(engine: Engine) -> list[str]:
    """Active demo accounts that still sign in with the demo password.

    A demo account is one ``sop demo`` makes: its full name ends in "(demo)", or its username
    is ``<region>.<role>``. Only those are checked (argon2 costs about 0.1 s per check, and a
    region may have hundreds of staff), so a clean production database costs nothing here.
    """
    from sqlmodel import Session, col, or_, select

    from sop_platform.accounts import verify_password
    from sop_platform.demo import DEMO_PASSWORD
    from sop_platform.models import RegionRow, UserAccount

    with Session(engine) as session:
        regions = set(session.exec(select(RegionRow.id)).all())
        rows: list[Any] = list(
            session.exec(
                select(UserAccount.username, UserAccount.full_name, UserAccount.password_hash)
                .where(col(UserAccount.active).is_(True))
                .where(
                    or_(
                        col(UserAccount.full_name).like("%(demo)"),
                        col(UserAccount.username).like("%.%"),
                    )
                )
                .order_by(col(UserAccount.username))
            ).all()
        )
    found = []
    for username, full_name, stored in rows:
        looks_demo = full_name.endswith("(demo)") or username.split(".", 1)[0] in regions
        if looks_demo and verify_password(stored, DEMO_PASSWORD):
            found.append(username)
    return found


def check_production(engine: Engine, config: Config) -> None:
    """In production, refuse to start while any account has the demo password."""
    if not config.production:
        return
    found = demo_accounts(engine)
    if found:
        shown = ", ".join(found[:5]) + (f" and {len(found) - 5} more" if len(found) > 5 else "")
        raise ConfigError(
            [
                f"{len(found)} active account(s) still use the demo password ({shown}); "
                "production refuses to start. Disable them or give them new passwords "
                "(or start from an empty database without `sop demo`)"
            ]
        )
