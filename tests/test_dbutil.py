"""Pool and URL helpers of app.dbutil."""
import time

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
