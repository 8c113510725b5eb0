"""PostgreSQL and nginx for the scale-out tests: started in temporary folders on 127.0.0.1,
as an unprivileged user where the server refuses root, and stopped by the pid we started.
As root, PostgreSQL runs as `nobody`, which may not enter the folder of a clone (a home folder
or a `mktemp -d` folder, mode 0700): binaries it cannot reach are linked (or copied) once per
test session into a temporary folder it can (`reachable_bindir`).

`tests/install_services.sh` (run by `make test`) installs them from Debian's packages. The
PostgreSQL index (pgvector) runs on the PostgreSQL 16 with pgvector 0.6 that the PyPI package
`pgserver` ships (a test dependency): `Postgres.with_pgvector()`.
"""

from __future__ import annotations

import atexit
import functools
import glob
import importlib.util
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NGINX_TEMPLATE = ROOT / "deploy" / "nginx" / "verbatim.conf.template"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def missing(what: str) -> None:
    """Fail in CI (REQUIRE_TEST_SERVICES=1), skip on a developer machine without the server."""
    message = f"{what} is not installed (tests/install_services.sh installs it as root)"
    if os.environ.get("REQUIRE_TEST_SERVICES") == "1":
        pytest.fail(message)
    pytest.skip(message)


def postgres_bin() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(candidates[-1]).parent if candidates else None


def pgserver_bin() -> Path | None:
    """The binaries of the `pgserver` package (initdb, postgres with pgvector), if installed."""
    spec = importlib.util.find_spec("pgserver")
    if spec is None or spec.origin is None:
        return None
    found = Path(spec.origin).parent / "pginstall" / "bin"
    return found if (found / "postgres").exists() else None


def pgvector_bin() -> Path:
    """pgserver_bin, or the test skipped when the package is missing (failed with
    REQUIRE_TEST_SERVICES=1)."""
    bindir = pgserver_bin()
    if bindir is None:
        message = ("the PyPI package pgserver (PostgreSQL 16 with pgvector) is not "
                   "installed: make setup installs it (.[dev])")
        if os.environ.get("REQUIRE_TEST_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return bindir


def runs_as(user: pwd.struct_passwd, program: Path) -> bool:
    """Whether `user` may execute `program` (every folder above it entered)."""
    probe = subprocess.run(["test", "-x", str(program)], user=user.pw_uid, group=user.pw_gid,
                           extra_groups=[], check=False)
    return probe.returncode == 0


@functools.cache
def reachable_bindir(bindir: Path, user: pwd.struct_passwd) -> Path:
    """`bindir` when `user` can run its initdb; otherwise the bin folder of a copy of the
    whole install (bin, lib, share: postgres finds them relative to itself) in a temporary
    folder `user` can read, made once per test session and removed at exit. Files `user`
    can already read are hard-linked (no copying 30 MB); the others are copied."""
    if runs_as(user, bindir / "initdb"):
        return bindir
    place = Path(tempfile.mkdtemp(prefix="verbatim-pginstall-"))
    atexit.register(shutil.rmtree, place, ignore_errors=True)
    copied = mirror_install(bindir, place, _link_or_copy)
    for folder in [place, *(p for p in place.rglob("*") if p.is_dir() and not p.is_symlink())]:
        folder.chmod(0o755)
    return copied


def mirror_install(bindir: Path, place: Path, copy_function: Callable[[str, str], object]
                   ) -> Path:
    """The PostgreSQL install around `bindir` (its parent folder) copied into `place` with
    the folders its programs find by relative path: a wheel's (pgserver's) programs load
    their libraries from `<package>.libs` beside the package ($ORIGIN/../../../<package>.libs).
    Returns the copy's bin folder."""
    install = bindir.parent
    package = install.parent
    shutil.copytree(install, place / package.name / install.name, symlinks=True,
                    copy_function=copy_function)
    libs = package.parent / f"{package.name}.libs"
    if libs.is_dir():
        shutil.copytree(libs, place / libs.name, symlinks=True, copy_function=copy_function)
    return place / package.name / install.name / bindir.name


def _link_or_copy(source: str, target: str) -> None:
    """A hard link when anyone may already read (and, if it is a program, run) the file: the
    same inode, so its mode must not change; else a copy made readable to all."""
    mode = os.stat(source).st_mode
    readable = mode & stat.S_IROTH and (mode & stat.S_IXOTH or not mode & stat.S_IXUSR)
    if readable:
        try:
            os.link(source, target)
            return
        except OSError:  # another filesystem
            pass
    shutil.copy2(source, target)
    os.chmod(target, 0o755 if mode & stat.S_IXUSR else 0o644)


def _wait_port(port: int, timeout: float, proc: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"{what} did not listen on port {port}")


def stop_server(proc: subprocess.Popen | None, sig: signal.Signals, wait: float,
                root: Path) -> None:
    """Stop a server we started, by its pid (killed if it does not stop), and remove its
    temporary folder."""
    if proc is not None and proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    shutil.rmtree(root, ignore_errors=True)


class Postgres:
    """A throwaway PostgreSQL server; `url` is what DATABASE_URL takes. `bindir`: whose
    binaries (default: Debian's)."""

    def __init__(self, bindir: Path | None = None) -> None:
        bindir = bindir or postgres_bin()
        if bindir is None:
            missing("PostgreSQL")
        self.user = pwd.getpwnam("nobody") if os.geteuid() == 0 else None
        # postgres refuses to run as root: as nobody, from where nobody can run it
        self.bindir = bindir if self.user is None else reachable_bindir(bindir, self.user)
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="verbatim-pg-"))
        if self.user is not None:
            os.chown(self.root, self.user.pw_uid, self.user.pw_gid)
        self.proc: subprocess.Popen | None = None
        self.log = self.root / "postgres.log"
        self.kept = False  # kept_in: the data folder stays after stop

    @classmethod
    def with_pgvector(cls) -> Postgres:
        """A server with the pgvector extension, from the `pgserver` package."""
        return cls(pgvector_bin())

    @classmethod
    def kept_in(cls, folder: Path, bindir: Path | None = None) -> Postgres:
        """A server whose data stays in `folder` after `stop` (a benchmark's database grown
        once and reused): `start` serves the data already there, or creates it."""
        server = cls(bindir)
        shutil.rmtree(server.root, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)
        if server.user is not None:
            os.chown(folder, server.user.pw_uid, server.user.pw_gid)
        server.root, server.log, server.kept = folder, folder / "postgres.log", True
        return server

    @property
    def url(self) -> str:
        return f"postgresql://verbatim@127.0.0.1:{self.port}/verbatim"

    def database_url(self, database: str) -> str:
        """The URL of another database on this server (`create_database` makes one)."""
        return f"postgresql://verbatim@127.0.0.1:{self.port}/{database}"

    def create_database(self, database: str) -> str:
        self.sql("postgres", f"CREATE DATABASE {database}")
        return self.database_url(database)

    def _run(self, *args: str, **kwargs) -> subprocess.Popen:
        extra = ({"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []}
                 if self.user else {})
        env = {"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
        return subprocess.Popen([str(self.bindir / args[0]), *args[1:]], env=env, cwd=self.root,
                                **extra, **kwargs)

    def start(self) -> Postgres:
        data = self.root / "data"
        if self.kept and (data / "PG_VERSION").exists():
            self._serve()
            return self
        init = self._run("initdb", "-D", str(data), "-U", "verbatim", "--auth=trust",
                         "-E", "UTF8", stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, err = init.communicate(timeout=120)
        if init.returncode != 0:
            raise RuntimeError(f"initdb failed: {err.decode(errors='replace')}")
        self._serve()
        self.sql("postgres", "CREATE DATABASE verbatim")
        return self

    def _serve(self) -> None:
        data = self.root / "data"
        with open(self.log, "ab") as log:
            self.proc = self._run("postgres", "-D", str(data), "-p", str(self.port),
                                  "-k", str(self.root), "-c", "listen_addresses=127.0.0.1",
                                  "-c", "fsync=off", "-c", "max_connections=200",
                                  stdout=log, stderr=subprocess.STDOUT)
        _wait_port(self.port, 60, self.proc, "postgres")

    @classmethod
    def standby_of(cls, primary: Postgres) -> Postgres:
        """A streaming read replica of a running `primary` (pg_basebackup -R: hot standby),
        with the same binaries; `sql(..., "SELECT pg_wal_replay_pause()")` makes it lag."""
        standby = cls(primary.bindir)
        copy = standby._run("pg_basebackup", "-D", str(standby.root / "data"), "-R", "-X",
                            "stream", "-c", "fast", "-h", "127.0.0.1", "-p", str(primary.port),
                            "-U", "verbatim", stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            _, err = copy.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            stop_server(copy, signal.SIGTERM, 5, standby.root)
            raise
        if copy.returncode != 0:
            raise RuntimeError(f"pg_basebackup failed: {err.decode(errors='replace')}")
        standby._serve()
        return standby

    def halt(self) -> None:
        """Stop the server (fast shutdown), keeping its data for `resume`: an outage."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            self.proc.wait(30)

    def resume(self) -> None:
        """Start the halted server again, on the same port and data."""
        self._serve()

    def sql(self, database: str, statement: str) -> list[tuple]:
        import psycopg

        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(f"postgresql://verbatim@127.0.0.1:{self.port}/{database}",
                                     autocommit=True) as conn:
                    cursor = conn.execute(statement)
                    return cursor.fetchall() if cursor.description else []
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)

    def stop(self) -> None:
        if self.kept:
            self.halt()
            return
        stop_server(self.proc, signal.SIGINT, 30, self.root)  # fast shutdown


def render_nginx_template(replicas: list[str], listen: str, webhook_path: str) -> str:
    """deploy/nginx/verbatim.conf.template with its ${VERBATIM_*} variables filled in."""
    values = {"VERBATIM_REPLICA_A": replicas[0], "VERBATIM_REPLICA_B": replicas[-1],
              "VERBATIM_LISTEN": listen, "VERBATIM_WEBHOOK_PATH": webhook_path}
    return re.sub(r"\$\{(VERBATIM_\w+)\}", lambda m: values[m.group(1)],
                  NGINX_TEMPLATE.read_text())


class Nginx:
    """nginx with the deploy config, in front of the given replica ports."""

    def __init__(self, replica_ports: list[int], webhook_path: str) -> None:
        self.binary = shutil.which("nginx") or ("/usr/sbin/nginx"
                                                if os.path.exists("/usr/sbin/nginx") else None)
        if self.binary is None:
            missing("nginx")
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="verbatim-nginx-"))
        site = render_nginx_template([f"127.0.0.1:{p}" for p in replica_ports],
                                     f"127.0.0.1:{self.port}", webhook_path)
        (self.root / "verbatim.conf").write_text(site)
        user = "user nobody nogroup;\n" if os.geteuid() == 0 else ""
        temp = "\n".join(f"    {name}_temp_path {self.root}/{name};"
                         for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        (self.root / "nginx.conf").write_text(
            f"{user}worker_processes 1;\npid {self.root}/nginx.pid;\n"
            f"error_log {self.root}/error.log warn;\nevents {{ worker_connections 512; }}\n"
            f"http {{\n    access_log {self.root}/access.log;\n{temp}\n"
            f"    include {self.root}/verbatim.conf;\n}}\n")
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Nginx:
        self.proc = subprocess.Popen(
            [self.binary, "-p", str(self.root), "-c", str(self.root / "nginx.conf"),
             "-e", str(self.root / "error.log"), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_port(self.port, 30, self.proc, "nginx")
        return self

    def stop(self) -> None:
        stop_server(self.proc, signal.SIGQUIT, 15, self.root)  # graceful
