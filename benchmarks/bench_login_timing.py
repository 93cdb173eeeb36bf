"""Login time must not tell whether a username exists (issue 13, item 4).

Prints the median seconds of `authenticate` for a known username with a wrong password and for an
unknown username, each hashed the way real accounts are (werkzeug's default method).
Run: .venv/bin/python benchmarks/bench_login_timing.py
"""
import statistics
import time

from app import create_app
from app.auth.services import authenticate
from app.extensions import db
from app.models import User


def median_seconds(username: str, runs: int = 15) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        authenticate(username, "wrong-password-123")
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    with app.app_context():
        db.create_all()
        user = User(username="coordinator")
        user.set_password("copper-kettle-drift")
        db.session.add(user)
        db.session.commit()
        authenticate("warm-up", "x")  # the dummy hash is made once per process
        known, unknown = median_seconds("coordinator"), median_seconds("no-such-user")
    print(f"known username, wrong password: {known * 1000:7.1f} ms (median of 15)")
    print(f"unknown username:               {unknown * 1000:7.1f} ms (median of 15)")
    print(f"ratio unknown/known: {unknown / known:.2f}")


if __name__ == "__main__":
    main()
