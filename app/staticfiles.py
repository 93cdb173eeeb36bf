"""Static files under content-hashed names, cached for a year and sent compressed.

At start-up every file of ours (``app/static``) and the Bootstrap files the pages load are copied to
``STATIC_BUILD_DIR`` (default ``instance/static-build``) as ``name.<12 hex of sha256>.ext`` with
gzip and brotli copies beside them. ``url_for('static', ...)`` then names the hashed copy, and
WhiteNoise serves it with ``Cache-Control: max-age=315360000, immutable``, picking the encoding the
browser accepts. A changed file gets a new name, so no browser keeps a stale one. Writes are
idempotent (same content, same name, atomic rename), so several processes may start at once.
Original names stay reachable through Flask's own static route (revalidated, not cached for long).
"""
import gzip
import hashlib
import os
from pathlib import Path

import brotli
from flask import redirect, url_for
from whitenoise import WhiteNoise

COMPRESSIBLE = {".css", ".js", ".svg", ".json", ".txt", ".html", ".map"}
# Bootstrap-Flask ships every Bootstrap version and theme; only what the pages load is collected.
BOOTSTRAP_FILES = ("css/bootstrap.min.css", "js/bootstrap.min.js", "umd/popper.min.js",
                   "js/bootstrap.bundle.min.js")


def hashed_name(filename: str, content: bytes) -> str:
    """``css/kaoping.css`` → ``css/kaoping.1a2b3c4d5e6f.css`` (first 12 hex digits of its SHA-256)."""
    digest = hashlib.sha256(content).hexdigest()[:12]
    stem, dot, ext = filename.rpartition(".")
    return f"{stem}.{digest}.{ext}" if dot and "/" not in ext else f"{filename}.{digest}"


def _write_once(path: Path, content: bytes) -> None:
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(content)
    os.replace(tmp, path)


def _sources(app) -> list[tuple[str, Path, list[str]]]:
    """(endpoint, folder, filenames relative to it) for every static folder the pages use."""
    ours = Path(app.static_folder)
    sources = [("static", ours, sorted(p.relative_to(ours).as_posix() for p in ours.rglob("*") if p.is_file()))]
    bootstrap = app.blueprints.get("bootstrap")
    if bootstrap is not None and bootstrap.static_folder:
        folder = Path(bootstrap.static_folder)
        sources.append(("bootstrap.static", folder, [f for f in BOOTSTRAP_FILES if (folder / f).is_file()]))
    return sources


def collect(app, build_dir: Path) -> dict[tuple[str, str], str]:
    """Copy the static files to ``build_dir`` under hashed names; returns (endpoint, name) → hashed name."""
    manifest = {}
    for endpoint, folder, filenames in _sources(app):
        target = build_dir / endpoint
        for filename in filenames:
            content = (folder / filename).read_bytes()
            hashed = hashed_name(filename, content)
            path = target / hashed
            _write_once(path, content)
            if path.suffix in COMPRESSIBLE:
                _write_once(path.with_name(path.name + ".gz"), gzip.compress(content, 9, mtime=0))
                _write_once(path.with_name(path.name + ".br"), brotli.compress(content, quality=9))
            manifest[(endpoint, filename)] = hashed
    return manifest


def register(app) -> None:
    """Hashed names in ``url_for`` and WhiteNoise in front of the app for them."""
    build_dir = Path(app.config.get("STATIC_BUILD_DIR") or Path(app.instance_path) / "static-build")
    manifest = collect(app, build_dir)

    @app.url_defaults
    def hashed_static(endpoint, values):
        filename = values.get("filename")
        if filename is not None and endpoint in ("static", "bootstrap.static"):
            values["filename"] = manifest.get((endpoint, filename), filename)

    # Browsers and feed readers ask for /favicon.ico whatever the page says.
    app.add_url_rule("/favicon.ico", "favicon",
                     lambda: redirect(url_for("static", filename="img/favicon.svg"), 302))

    from .security import CONTENT_SECURITY_POLICY

    def headers(headers, path, url):
        headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        headers["X-Frame-Options"] = "DENY"
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "same-origin"
        if app.config.get("SESSION_COOKIE_SECURE"):
            headers["Strict-Transport-Security"] = "max-age=31536000"

    server = WhiteNoise(app.wsgi_app, max_age=WhiteNoise.FOREVER, allow_all_origins=False,
                        immutable_file_test=lambda path, url: True, add_headers_function=headers)
    prefixes = {"static": app.static_url_path, "bootstrap.static": app.blueprints["bootstrap"].static_url_path
                if "bootstrap" in app.blueprints else None}
    for endpoint, prefix in prefixes.items():
        if prefix and (build_dir / endpoint).is_dir():
            server.add_files(str(build_dir / endpoint), prefix=prefix.lstrip("/") + "/")
    app.wsgi_app = server
