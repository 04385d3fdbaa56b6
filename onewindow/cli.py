"""The ``onewindow`` command: serve, check-config, hash-password, hash-token, print-test, archive, backup, restore
(deploy/*.service are checked against :func:`build_parser`)."""

from __future__ import annotations

import argparse
import contextlib
import getpass
import hashlib
import logging
import os
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from onewindow import serving
from onewindow.app import DEFAULT_CONFIG
from shared.config import KIOSK_ID, Config, Deployment, load_config, load_deployment
from shared.demo_credentials import demo_accounts, demo_credentials, is_loopback, refuse_to_serve
from shared.engine import Engine
from shared.errors import ConfigError, OneWindowError
from shared.redis_client import connect

logger = logging.getLogger("onewindow")


def main(argv: list[str] | None = None) -> int:
    """The ``onewindow`` command."""
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=os.environ.get("ONEWINDOW_LOG", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    args.argv = [a for a in argv if a != "--child"]
    return args.func(args)


# ------------------------------------------------------------------------------------------------ config
def load_or_exit(path: str, hall: str | None = None) -> Config:
    """The config at ``path`` with ``[printer]`` validated by the package that owns it; exit 2 when invalid. A config
    directory (several halls): the hall ``hall`` of it (``--hall``; may be left out when the directory has one)."""
    if Path(path).is_dir():
        deployment = load_deployment_or_exit(path)
        ids = [c.hall_id for c in deployment.halls]
        if hall is None and len(ids) == 1:
            hall = ids[0]
        if hall not in ids:
            print(f"{path} is a config directory: name one of its halls with --hall ({', '.join(ids)})",
                  file=sys.stderr)
            raise SystemExit(2)
        return deployment.hall(hall)
    try:
        config = load_config(path)
        from kiosk.printing import printer_settings

        printer_settings(config)
        return config
    except ConfigError as exc:
        print(f"config error in {path}: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def load_deployment_or_exit(path: str) -> Deployment:
    """The config file or directory at ``path`` (every hall's ``[printer]`` validated too); exit 2 when invalid."""
    try:
        deployment = load_deployment(path)
        from kiosk.printing import printer_settings

        for config in deployment.halls:
            try:
                printer_settings(config)
            except ConfigError as exc:
                raise ConfigError(f"{config.source}: {exc.key}", exc.problem) from None
        return deployment
    except ConfigError as exc:
        print(f"config error in {path}: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def config_warnings(config: Config, host: str | None = None) -> list[str]:
    """What works but probably not as intended: a missing ticket font, a loopback public_url served to the LAN."""
    from kiosk.printing import printer_settings

    out = list(printer_settings(config).warnings())
    public_host = urlsplit(config.public_url).hostname if config.public_url else None
    if host is not None and public_host and is_loopback(public_host) and not is_loopback(host):
        out.append(f"hall.public_url is {config.public_url}, an address of this machine only, but the server listens "
                   f"on {host}: phones that scan a ticket cannot open it. Set hall.public_url to the hall's address, "
                   f"or leave it out so that links follow the address each request came to.")
    return out


def cmd_check_config(args: argparse.Namespace) -> int:
    """Validate the config. Exit 2: invalid. Exit 1: valid, but it holds the shipped demo credentials and does not
    say ``demo = true`` (not fit to go live). Exit 0: fit (a demo config says so loudly). A config directory (several
    halls): every hall file and ``city.toml`` are checked, and the worst answer of any hall is the exit status."""
    if Path(args.config).is_dir():
        return _check_config_directory(args)
    config = load_or_exit(args.config)
    for warning in config_warnings(config, args.host):
        print(f"warning: {warning}", file=sys.stderr)
    print(f"{args.config}: OK — {config.hall_name}, {len(config.services)} services, {len(config.windows)} windows, "
          f"{len(config.clerks)} staff accounts, {len(config.tokens)} device tokens")
    found = demo_credentials(config)
    if found:
        banner = "!" * 78
        print(f"{banner}\nWARNING: {args.config} holds the shipped DEMO credentials (they are public):\n  - "
              + "\n  - ".join(found) + "\n"
              + ("[hall] demo = true: accepted because this installation is marked as a demonstration.\n"
                 if config.demo else
                 "Replace them before going live (`onewindow hash-password`, `onewindow hash-token`); `onewindow "
                 "serve` refuses to bind a non-loopback address with them unless [hall] demo = true.\n")
              + banner, file=sys.stderr)
        if not config.demo:
            return 1
    return 0


def _check_config_directory(args: argparse.Namespace) -> int:
    deployment = load_deployment_or_exit(args.config)
    city = deployment.city
    status = 0
    print(f"{args.config}: OK — {city.name}, {len(deployment.halls)} halls, {len(city.supervisors)} city supervisors")
    for config in deployment.halls:
        for warning in config_warnings(config, args.host):
            print(f"warning: {config.source.name}: {warning}", file=sys.stderr)
        print(f"  /h/{config.hall_id}/  {config.source.name}: {config.hall_name}, {len(config.services)} services, "
              f"{len(config.windows)} windows, {len(config.clerks)} staff accounts, {len(config.tokens)} device tokens")
        found = demo_credentials(config)
        if found:
            print(f"WARNING: {config.source.name} holds the shipped DEMO credentials: " + "; ".join(found)
                  + (" ([hall] demo = true: accepted)" if config.demo else ""), file=sys.stderr)
            if not config.demo:
                status = 1
    demo_supervisors = demo_accounts(city.supervisors.values())
    if demo_supervisors:
        every_hall_demo = all(c.demo for c in deployment.halls)
        print(f"WARNING: city supervisor(s) {', '.join(demo_supervisors)} have the shipped DEMO password"
              + (" (every hall says demo = true: accepted)" if every_hall_demo else ""), file=sys.stderr)
        if not every_hall_demo:
            status = 1
    return status


# ------------------------------------------------------------------------------------------------ serve
def cmd_serve(args: argparse.Namespace) -> int:
    """Serve a config file (one hall) or directory (every hall file under /h/<hall id>/); ``--demo``: every hall
    open all day with simulated traffic, in ``<var_dir>/demo`` (shared.demo_hall)."""
    if Path(args.config).is_dir():  # several halls: every hall file of the directory, under /h/<hall id>/
        deployment = load_deployment_or_exit(args.config)
        if args.demo:
            from shared.demo_hall import demo_deployment

            deployment = demo_deployment(deployment)
        return _serve(args, deployment.process, deployment)
    config = load_or_exit(args.config)
    if args.demo:
        from shared.demo_hall import demo_config

        config = demo_config(config)
    return _serve(args, config, None)


def _serve(args: argparse.Namespace, config: Config, deployment: Deployment | None) -> int:
    from shared.logs import configure

    configure(os.environ.get("ONEWINDOW_LOG", "INFO"), args.log_format, config.timezone, args.log_file)
    if args.child:
        serving.run_gunicorn(args, config, deployment)
        return 0
    for hall in deployment.halls if deployment else [config]:
        refusal = refuse_to_serve(hall, args.host)
        if refusal:
            print(refusal if deployment is None else f"{hall.source}: {refusal}", file=sys.stderr)
            return 2
    if deployment is not None and not is_loopback(args.host) and not all(h.demo for h in deployment.halls):
        shipped = demo_accounts(deployment.city.supervisors.values())
        if shipped:
            print(f"refusing to serve {args.host}: city supervisor(s) {', '.join(shipped)} in city.toml have the "
                  "shipped DEMO password (`onewindow hash-password`)", file=sys.stderr)
            return 2
    if demo_credentials(config):
        logger.warning("this config holds the shipped DEMO credentials (%s)",
                       "[hall] demo = true" if config.demo else f"accepted only because {args.host} is loopback")
    for warning in config_warnings(config, args.host):
        if not warning.startswith("printer."):  # the printer's own warnings are logged where it is set up
            logger.warning("%s", warning)
    return serving.supervise(args, config, deployment)


# ------------------------------------------------------------------------------------------------ credentials
def cmd_hash_password(args: argparse.Namespace) -> int:
    from werkzeug.security import generate_password_hash

    password = args.password or getpass.getpass("password: ")
    if len(password) < 8:
        print("a password needs at least 8 characters", file=sys.stderr)
        return 2
    print(generate_password_hash(password))
    return 0


def cmd_hash_token(args: argparse.Namespace) -> int:
    """Print the ``[[tokens]]`` entry to paste into config.toml (only the SHA-256 of the token goes there); with no
    TOKEN a new random one is made and shown once, to be entered on the device."""
    if args.kind == "kiosk" and not (args.kiosk and KIOSK_ID.fullmatch(args.kiosk)):
        print("a kiosk token needs --kiosk ID (1–32 of A–Z a–z 0–9 _ -)", file=sys.stderr)
        return 2
    if args.kind in ("keypad", "tablet") and not args.window:
        print(f"a {args.kind} token needs --window N", file=sys.stderr)
        return 2
    token = args.token or secrets.token_urlsafe(24)
    if not args.token:
        print(f"# token for the device (shown once; pair the device with it): {token}")
    bound = {"kiosk": f'kiosk = "{args.kiosk}"\n', "app": ""}.get(args.kind, f"window = {args.window}\n")
    name = args.name or {"kiosk": f"kiosk-{args.kiosk}", "app": "province-app"}.get(args.kind, f"{args.kind}-{args.window}")
    print(f'[[tokens]]\nname = "{name}"\nkind = "{args.kind}"\n{bound}'
          f'token_sha256 = "{hashlib.sha256(token.encode()).hexdigest()}"')
    return 0


# ------------------------------------------------------------------------------------------------ maintenance
def cmd_print_test(args: argparse.Namespace) -> int:
    from kiosk.printing import PrinterFault, print_sample, printer_settings

    config = load_or_exit(args.config, args.hall)
    try:
        result = print_sample(printer_settings(config))  # the settings (and preview folder) the server prints with
    except PrinterFault as exc:
        print(f"printer fault: {exc.message}", file=sys.stderr)
        return 1
    print(f"printed a sample ticket: {result}")
    return 0


@contextlib.contextmanager
def _hall_engine(config: Config) -> Iterator[tuple[Engine, str]]:
    """An engine on the hall's Redis (the embedded one started for the command, or adopted) and its URL."""
    redis_url, embedded = serving.redis_for(config)
    client = connect(redis_url)
    try:
        yield Engine(client, config), redis_url
    finally:
        client.close()
        if embedded is not None and embedded.adopted_pid is None:
            embedded.stop()


def cmd_archive(args: argparse.Namespace) -> int:
    """Archive the closed days now (and trim the stream of what is archived), like the server does periodically."""
    from shared.stats import Archive, archive_closed_days

    config = load_or_exit(args.config, args.hall)
    with _hall_engine(config) as (engine, _url):
        result = archive_closed_days(engine, Archive(config.archive_path), trim=not args.no_trim)
    if result.skipped:
        print("another process is archiving right now; nothing done", file=sys.stderr)
        return 1
    print(f"archived {len(result.archived)} day(s){': ' + ', '.join(result.archived) if result.archived else ''}; "
          f"trimmed {result.trimmed} event(s) from the stream; archive: {config.archive_path}")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    """Back up the hall's Redis data and statistics archive into one file (while the server runs)."""
    from shared.backup import backup

    config = load_or_exit(args.config, args.hall)
    with _hall_engine(config) as (engine, redis_url):
        dest = Path(args.out) if args.out else (
            config.var_dir / "backups" / f"onewindow-{config.hall_id}-{engine.clock.now():%Y%m%d-%H%M%S}.zip")
        info = backup(engine, redis_url, config, dest)
    print(f"backed up {info.keys} keys (event seq {info.seq})"
          f"{' and the statistics archive' if info.archive else ''} to {info.path}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    """Restore a backup into an empty hall (a fresh var directory, or an empty Redis)."""
    from shared.backup import restore

    config = load_or_exit(args.config, args.hall)
    try:
        with _hall_engine(config) as (engine, _url):
            info = restore(engine, config, Path(args.backup))
    except OneWindowError as exc:
        print(f"restore refused: {exc.message}", file=sys.stderr)
        return 1
    print(f"restored {info.keys} keys (event seq {info.seq})"
          f"{' and the statistics archive' if info.archive else ''} from {info.path}")
    return 0


# ------------------------------------------------------------------------------------------------ the parser
def build_parser() -> argparse.ArgumentParser:
    """The ``onewindow`` command line (deploy/*.service are checked against it)."""
    parser = argparse.ArgumentParser(prog="onewindow", description="OneWindow (一窗通) queue system")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_serve(sub)

    check = sub.add_parser("check-config", help="validate the config file")
    check.add_argument("--config", default=DEFAULT_CONFIG)
    check.add_argument("--host", help="the address `onewindow serve --host` will listen on (checks hall.public_url)")
    check.set_defaults(func=cmd_check_config)

    hp = sub.add_parser("hash-password", help="hash a staff password for config.toml")
    hp.add_argument("password", nargs="?")
    hp.set_defaults(func=cmd_hash_password)

    ht = sub.add_parser("hash-token", help="create (or hash) a device token: prints the [[tokens]] entry to paste")
    ht.add_argument("token", nargs="?", help="the token (default: a new random one, shown once)")
    ht.add_argument("--kind", choices=("keypad", "tablet", "kiosk", "app"), default="keypad")
    ht.add_argument("--window", type=int, help="the window a keypad or tablet is bound to")
    ht.add_argument("--kiosk", help="the kiosk id a kiosk token is bound to (e.g. lobby-1)")
    ht.add_argument("--name", help="a name for logs and events (default: <kind>-<window or kiosk>)")
    ht.set_defaults(func=cmd_hash_token)

    pt = sub.add_parser("print-test", help="print a sample ticket on the configured printer")
    pt.add_argument("--config", default=DEFAULT_CONFIG)
    pt.add_argument("--hall", help="the hall, when --config is a directory of several halls")
    pt.set_defaults(func=cmd_print_test)

    ar = sub.add_parser("archive", help="archive closed days into the statistics archive, then trim the stream")
    ar.add_argument("--config", default=DEFAULT_CONFIG)
    ar.add_argument("--hall", help="the hall, when --config is a directory of several halls")
    ar.add_argument("--no-trim", action="store_true", help="keep every event in Redis")
    ar.set_defaults(func=cmd_archive)

    bk = sub.add_parser("backup", help="back up the Redis data and the statistics archive into one file")
    bk.add_argument("--config", default=DEFAULT_CONFIG)
    bk.add_argument("--hall", help="the hall, when --config is a directory of several halls")
    bk.add_argument("--out", help="the backup file (default: <var_dir>/backups/onewindow-<hall>-<time>.zip)")
    bk.set_defaults(func=cmd_backup)

    rs = sub.add_parser("restore", help="restore a backup into an empty hall (a fresh var directory)")
    rs.add_argument("backup", help="a file written by `onewindow backup`")
    rs.add_argument("--config", default=DEFAULT_CONFIG)
    rs.add_argument("--hall", help="the hall, when --config is a directory of several halls")
    rs.set_defaults(func=cmd_restore)
    return parser


def _workers(text: str) -> int:
    """``--workers``: 1 to 64 server processes."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 1 <= n <= 64:
        raise argparse.ArgumentTypeError("between 1 and 64 processes")
    return n


def _add_serve(sub) -> None:
    serve = sub.add_parser("serve", help="run the server (starts the embedded Redis when [redis] url is empty)")
    serve.add_argument("--config", default=DEFAULT_CONFIG)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--worker", choices=("gevent", "gthread"), default="gevent",
                       help="gunicorn worker: gevent (default: a greenlet per socket, hundreds of screens on one "
                            "process) or gthread (a thread per socket)")
    serve.add_argument("--workers", type=_workers, default=1,
                       help="server processes on the one listening socket (default 1; with more than one, Socket.IO "
                            "runs over WebSocket only: see docs/deploy.md, 'Several processes')")
    serve.add_argument("--threads", type=int, default=1000,
                       help="open sockets one process can hold (gevent connections / gthread threads)")
    serve.add_argument("--access-log", action="store_true")
    serve.add_argument("--demo", action="store_true",
                       help="the demo: every hall open all day, its own data in <var_dir>/demo, simulated traffic")
    serve.add_argument("--log-format", choices=("text", "json"), default=os.environ.get("ONEWINDOW_LOG_FORMAT", "text"),
                       help="text (default) or one JSON object a line; timestamps in the hall's time zone")
    serve.add_argument("--log-file", help="write the log to this file (reopened when logrotate moves it)")
    serve.add_argument("--child", action="store_true", help=argparse.SUPPRESS)  # the gunicorn process
    serve.set_defaults(func=cmd_serve)
