"""The Alembic revisions build exactly the schema the models describe, and go down again."""
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from app.extensions import db
from app.sealing import unseal

from .conftest import make_test_app


@pytest.fixture
def migrations_url(database_url, tmp_path):
    """A second, empty database next to the test one."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    url = sa.engine.make_url(database_url)
    name = f"{url.database}_migrations"
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_migrations_match_models_and_downgrade(migrations_url, tmp_path):
    app = make_test_app(migrations_url, tmp_path)
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, db.metadata)
        assert diff == [], f"models and migrations disagree: {diff}"
        downgrade(revision="base")
        with db.engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names()) - {"alembic_version"}
        assert tables == set()
        upgrade()  # and up again, as a redeploy would
        db.engine.dispose()


def test_connector_tokens_are_sealed_by_the_migration_and_opened_by_its_downgrade(migrations_url, tmp_path):
    app = make_test_app(migrations_url, tmp_path)
    with app.app_context():
        upgrade(revision="0010_h20events")
        with db.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO connector (name, kind, url, token, created_at) VALUES "
                                 "('警综', 'incidents', 'http://x/feed', 'plain-t0ken', CURRENT_TIMESTAMP)"))
        upgrade(revision="0011_lead_sealing")
        with db.engine.connect() as conn:
            sealed = conn.execute(sa.text("SELECT sealed_token FROM connector")).scalar_one()
        assert "plain-t0ken" not in sealed and unseal(sealed, "connector-token") == "plain-t0ken"
        downgrade(revision="0010_h20events")
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT token FROM connector")).scalar_one() == "plain-t0ken"
