"""Pool and URL helpers of app.dbutil."""
import time

import pytest
import sqlalchemy as sa

from app.dbutil import ping_after_idle


def test_a_connection_that_died_while_idle_is_replaced_before_use(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'ping.db'}", pool_size=1)
    ping_after_idle(engine, 0.01)
    with engine.connect() as conn:
        first = conn.connection.dbapi_connection
        conn.execute(sa.text("SELECT 1"))
    first.close()  # the server went away while the connection sat in the pool
    time.sleep(0.05)
    with engine.connect() as conn:  # the ping finds it dead; the pool connects afresh
        assert conn.execute(sa.text("SELECT 1")).scalar() == 1
        assert conn.connection.dbapi_connection is not first
    engine.dispose()


def test_a_busy_connection_is_not_pinged(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'ping.db'}", pool_size=1)
    ping_after_idle(engine, 60)
    with engine.connect() as conn:
        first = conn.connection.dbapi_connection
    with engine.connect() as conn:
        assert conn.connection.dbapi_connection is first
    engine.dispose()


# ---- lean_connection: the resident link's statements, on the driver on PostgreSQL ------------------
_ROWS = sa.Table("lean_probe", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("code", sa.String(10), nullable=False, unique=True))
_INSERT = sa.insert(_ROWS).values(id=sa.bindparam("id"), code=sa.bindparam("code"))
_COUNT = sa.select(sa.func.count()).select_from(_ROWS)


def test_lean_connection_commits_rolls_back_and_speaks_sqlalchemys_errors(app):
    from app.dbutil import lean_connection
    from app.extensions import db

    with app.app_context():
        _ROWS.create(db.engine)
        try:
            with lean_connection(transaction=True) as conn:
                conn.execute(_INSERT, {"id": 1, "code": "A"})
            with pytest.raises(sa.exc.IntegrityError):  # the driver's error comes out as SQLAlchemy's
                with lean_connection(transaction=True) as conn:
                    conn.execute(_INSERT, {"id": 2, "code": "B"})
                    conn.execute(_INSERT, {"id": 3, "code": "A"})
            with lean_connection() as conn:  # the failed transaction left nothing behind
                assert conn.execute(_COUNT).fetchall() == [(1,)]
            if db.engine.dialect.name == "postgresql":  # the driver's own connection, in autocommit
                assert conn.driver.autocommit is False  # ... and back out of it before the pool
            # The pooled connection went back as SQLAlchemy expects it: a session transaction works.
            db.session.execute(_INSERT, {"id": 4, "code": "D"})
            db.session.rollback()
            assert db.session.execute(_COUNT).scalar() == 1
            db.session.rollback()
        finally:
            db.session.remove()
            _ROWS.drop(db.engine)


def test_lean_connection_refuses_statements_that_need_python_side_defaults(app):
    from app.dbutil import _compiled_sql
    from app.extensions import db
    from app.models import FollowUp

    with app.app_context():
        with pytest.raises(ValueError, match="check_note"):
            _compiled_sql(sa.insert(FollowUp.__table__).values(response_id=sa.bindparam("r")), db.engine.dialect)
