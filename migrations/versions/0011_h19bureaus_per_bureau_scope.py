"""several bureaus on one installation: units, cycles, the indicator catalogue and accounts belong to a bureau;
the read-only province role

Revision ID: 0011_h19bureaus
Revises: 0013_lead_calendar
Create Date: 2026-12-03 08:00:00

Backfill: every unit takes the bureau above it (a bureau itself); officers' own accounts take their unit's
bureau, admins' and coordinators' stay installation-wide (the existing admins keep seeing everything). With
exactly one bureau unit every cycle is assigned to it; with none or several cycles stay NULL (installation-
wide). The indicator catalogue stays shared (NULL): every bureau uses it until it keeps rows of its own.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0011_h19bureaus'
down_revision = '0013_lead_calendar'
branch_labels = None
depends_on = None

_ROLES_OLD = "role IN ('admin', 'coordinator', 'supervisor', 'officer')"
_ROLES_NEW = "role IN ('admin', 'coordinator', 'supervisor', 'officer', 'province')"


def _defer_sqlite_foreign_keys():
    """SQLite rebuilds a table to change its constraints, and the rebuild's DROP TABLE would fail on the rows
    referring to it (officers to units): foreign keys are off for this connection while it runs (no
    transaction has begun yet: pysqlite begins one at the first data change), else checked at commit."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute("PRAGMA foreign_keys = OFF")
        op.execute("PRAGMA defer_foreign_keys = ON")


def upgrade():
    _defer_sqlite_foreign_keys()
    with op.batch_alter_table('unit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bureau_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_unit_bureau_id'), ['bureau_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_unit_bureau_id_unit'), 'unit', ['bureau_id'], ['id'])
        batch_op.create_check_constraint(op.f('ck_unit_bureau_own'),
                                         "kind <> 'bureau' OR bureau_id IS NULL OR bureau_id = id")

    with op.batch_alter_table('cycle', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bureau_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_cycle_bureau_id'), ['bureau_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_cycle_bureau_id_unit'), 'unit', ['bureau_id'], ['id'])
        batch_op.drop_constraint(op.f('uq_cycle_kind_starts_on'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_cycle_bureau_id_kind_starts_on'),
                                          ['bureau_id', 'kind', 'starts_on'])
    op.create_index('uq_cycle_installation_kind_starts_on', 'cycle', ['kind', 'starts_on'], unique=True,
                    sqlite_where=sa.text('bureau_id IS NULL'), postgresql_where=sa.text('bureau_id IS NULL'))

    with op.batch_alter_table('indicator', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bureau_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_indicator_bureau_id'), ['bureau_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_indicator_bureau_id_unit'), 'unit', ['bureau_id'], ['id'])
        batch_op.drop_constraint(op.f('uq_indicator_code'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_indicator_bureau_id_code'), ['bureau_id', 'code'])
    op.create_index('uq_indicator_shared_code', 'indicator', ['code'], unique=True,
                    sqlite_where=sa.text('bureau_id IS NULL'), postgresql_where=sa.text('bureau_id IS NULL'))

    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bureau_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_user_account_bureau_id'), ['bureau_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_user_account_bureau_id_unit'), 'unit', ['bureau_id'], ['id'])

    with op.batch_alter_table('user_role', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_user_role_role'), type_='check')
        batch_op.create_check_constraint(op.f('ck_user_role_role'), _ROLES_NEW)

    _backfill()


def _backfill():
    conn = op.get_bind()
    conn.execute(sa.text("UPDATE unit SET bureau_id = id WHERE kind = 'bureau'"))
    # Each unit takes the bureau of the nearest bureau above it (the tree is shallow; one pass per level).
    for _ in range(32):
        moved = conn.execute(sa.text(
            "UPDATE unit SET bureau_id = (SELECT p.bureau_id FROM unit p WHERE p.id = unit.parent_id)"
            " WHERE kind <> 'bureau' AND bureau_id IS NULL AND parent_id IS NOT NULL"
            " AND (SELECT p.bureau_id FROM unit p WHERE p.id = unit.parent_id) IS NOT NULL")).rowcount
        if not moved:
            break
    # Officers' own accounts follow their unit; admins and coordinators stay installation-wide.
    conn.execute(sa.text(
        "UPDATE user_account SET bureau_id = (SELECT u.bureau_id FROM officer o JOIN unit u ON u.id = o.unit_id"
        " WHERE o.id = user_account.officer_id) WHERE officer_id IS NOT NULL AND id NOT IN"
        " (SELECT user_id FROM user_role WHERE role IN ('admin', 'coordinator'))"))
    bureaus = conn.execute(sa.text("SELECT id FROM unit WHERE kind = 'bureau'")).scalars().all()
    if len(bureaus) == 1:
        conn.execute(sa.text("UPDATE cycle SET bureau_id = :b"), {"b": bureaus[0]})


def downgrade():
    _defer_sqlite_foreign_keys()
    conn = op.get_bind()
    conn.execute(sa.text("DELETE FROM user_role WHERE role = 'province'"))
    with op.batch_alter_table('user_role', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_user_role_role'), type_='check')
        batch_op.create_check_constraint(op.f('ck_user_role_role'), _ROLES_OLD)

    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_user_account_bureau_id_unit'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_user_account_bureau_id'))
        batch_op.drop_column('bureau_id')

    op.drop_index('uq_indicator_shared_code', table_name='indicator')
    with op.batch_alter_table('indicator', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_indicator_bureau_id_code'), type_='unique')
        batch_op.create_unique_constraint(op.f('uq_indicator_code'), ['code'])
        batch_op.drop_constraint(batch_op.f('fk_indicator_bureau_id_unit'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_indicator_bureau_id'))
        batch_op.drop_column('bureau_id')

    op.drop_index('uq_cycle_installation_kind_starts_on', table_name='cycle')
    with op.batch_alter_table('cycle', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_cycle_bureau_id_kind_starts_on'), type_='unique')
        batch_op.create_unique_constraint(op.f('uq_cycle_kind_starts_on'), ['kind', 'starts_on'])
        batch_op.drop_constraint(batch_op.f('fk_cycle_bureau_id_unit'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_cycle_bureau_id'))
        batch_op.drop_column('bureau_id')

    with op.batch_alter_table('unit', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_unit_bureau_own'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_unit_bureau_id_unit'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_unit_bureau_id'))
        batch_op.drop_column('bureau_id')
