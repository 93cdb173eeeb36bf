"""Command-line tools: seed-demo, create-admin, import-roster."""
import sqlalchemy as sa

from app.extensions import db
from app.models import Cycle, Officer, Unit, User
from app.tabular import xlsx_bytes


def table_counts(app):
    with app.app_context():
        return {t.name: db.session.scalar(sa.select(sa.func.count()).select_from(t))
                for t in db.metadata.sorted_tables if t.name != "audit_log"}


def test_seed_demo_builds_the_bureau_and_is_idempotent(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "admin" in first.output and "demo1234" in first.output
    with app.app_context():
        stations = db.session.execute(sa.select(Unit).filter_by(kind="station")).scalars().all()
        assert len(stations) == 12
        assert {s.category for s in stations} == {1, 2, 3}
        officers = db.session.scalar(sa.select(sa.func.count(Officer.id)))
        assert 250 <= officers <= 350
        assert db.session.scalar(sa.select(sa.func.count(Officer.id)).where(Officer.is_leader)) >= 12
        roles = {r for u in db.session.execute(sa.select(User)).scalars() for r in u.roles}
        assert roles == {"admin", "coordinator", "supervisor", "officer"}
        assert db.session.execute(sa.select(Cycle).filter_by(status="open", kind="quarter")).scalar_one()
    before = table_counts(app)
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0, second.output
    assert table_counts(app) == before
    assert "already there" in second.output


def test_seed_demo_if_empty_leaves_real_data_alone(app):
    with app.app_context():
        db.session.add(Unit(code="REAL", name="真实单位", kind="bureau"))
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["seed-demo", "--if-empty"])
    assert result.exit_code == 0
    assert "not loaded" in result.output
    assert table_counts(app)["officer"] == 0


def test_demo_logins_work(app, client):
    app.test_cli_runner().invoke(args=["seed-demo"])
    for username in ("admin", "coordinator", "leader", "officer"):
        response = client.post("/login", data={"username": username, "password": "demo1234"})
        assert response.status_code == 302, username
        assert client.get("/").status_code == 200
        client.post("/logout")


def test_create_admin(app):
    runner = app.test_cli_runner()
    short = runner.invoke(args=["create-admin", "--username", "chief", "--password", "short"])
    assert short.exit_code != 0
    result = runner.invoke(args=["create-admin", "--username", "chief", "--password", "long-enough-1"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.execute(sa.select(User).filter_by(username="chief")).scalar_one()
        assert user.roles == {"admin"} and user.check_password("long-enough-1")


def test_import_roster_cli(app, tmp_path):
    with app.app_context():
        db.session.add(Unit(code="PS01", name="城关派出所", kind="station", category=1))
        db.session.commit()
    good = tmp_path / "roster.xlsx"
    good.write_bytes(xlsx_bytes(["警号", "姓名", "单位代码"], [["300001", "钱七", "PS01"]]))
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(xlsx_bytes(["警号", "姓名", "单位代码"], [["300002", "孙八", "NOPE"]]))
    runner = app.test_cli_runner()
    assert runner.invoke(args=["import-roster", str(bad)]).exit_code == 1
    ok = runner.invoke(args=["import-roster", str(good)])
    assert ok.exit_code == 0 and "1 created" in ok.output
    assert table_counts(app)["officer"] == 1
