"""The synthetic county bureau behind `flask seed-demo`.

Each feature adds an idempotent step to ``STEPS``; a step checks for its own rows and does nothing
when they are there, so a second run changes nothing.
"""
import random

from ..extensions import db
from . import org

DEMO_PASSWORD = "demo1234"
SEED = 2026

# (name, function(rng) -> summary str or None). Order matters: later steps use earlier rows.
STEPS: list = [
    ("org", org.seed_org),
    ("users", org.seed_users),
    ("cycle", org.seed_cycle),
]


def seed_demo(echo=print) -> None:
    for name, step in STEPS:
        rng = random.Random(f"{SEED}:{name}")
        summary = step(rng)
        db.session.commit()
        echo(f"  {name}: {summary or 'already there'}")


DEMO_LOGINS = [
    ("admin", "考评办管理员 admin"),
    ("coordinator", "协作协调员 coordinator"),
    ("leader", "派出所所长 supervisor"),
    ("officer", "社区民警 officer"),
]
