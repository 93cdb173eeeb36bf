"""0011_h19bureaus backfills an existing single-bureau installation: units, cycles and officers' accounts
belong to its bureau; admins stay installation-wide; the catalogue stays shared."""
import sqlalchemy as sa
from flask_migrate import upgrade

from app.extensions import db

from .conftest import make_test_app
from .test_migrations import migrations_url  # noqa: F401 - the fixture


def test_an_existing_single_bureau_installation_is_backfilled(migrations_url, tmp_path):  # noqa: F811
    app = make_test_app(migrations_url, tmp_path)
    with app.app_context():
        upgrade(revision="0010_h20events")
        with db.engine.begin() as conn:
            run = conn.execute
            run(sa.text("INSERT INTO unit (id, code, name, kind, is_active, created_at) VALUES"
                        " (1, 'BJ', 'bureau', 'bureau', true, '2026-01-01')"))
            run(sa.text("INSERT INTO unit (id, code, name, kind, category, parent_id, is_active, created_at) VALUES"
                        " (2, 'PS01', 'station', 'station', 1, 1, true, '2026-01-01')"))
            run(sa.text("INSERT INTO unit (id, code, name, kind, parent_id, is_active, created_at) VALUES"
                        " (3, 'PS01-1', 'squad', 'squad', 2, true, '2026-01-01')"))
            run(sa.text("INSERT INTO officer (id, badge_no, name, unit_id, position, is_leader, is_active, created_at)"
                        " VALUES (1, '001', 'o', 3, '', false, true, '2026-01-01')"))
            for uid, name, officer, role in ((1, 'admin', 'NULL', 'admin'), (2, 'cop', '1', 'officer')):
                run(sa.text(f"INSERT INTO user_account (id, username, password_hash, officer_id, is_active, created_at,"
                            f" session_version, must_change_password, language) VALUES ({uid}, '{name}', 'x',"
                            f" {officer}, true, '2026-01-01', 1, false, 'zh')"))
                run(sa.text(f"INSERT INTO user_role (user_id, role) VALUES ({uid}, '{role}')"))
            run(sa.text("INSERT INTO cycle (id, name, kind, starts_on, ends_on, status, config, created_at) VALUES"
                        " (1, 'q', 'quarter', '2026-10-01', '2026-12-31', 'draft', '{}', '2026-01-01')"))
        upgrade()
        with db.engine.connect() as conn:
            units = dict(conn.execute(sa.text("SELECT id, bureau_id FROM unit")).all())
            users = dict(conn.execute(sa.text("SELECT username, bureau_id FROM user_account")).all())
            cycle = conn.execute(sa.text("SELECT bureau_id FROM cycle")).scalar_one()
        assert units == {1: 1, 2: 1, 3: 1}
        assert users == {"admin": None, "cop": 1}
        assert cycle == 1
        db.engine.dispose()
