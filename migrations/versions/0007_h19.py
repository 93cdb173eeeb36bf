"""jobs: background jobs with their state, step, progress and heartbeat

Revision ID: 0007_h19
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0007_h19'
down_revision = '0007_h17'
branch_labels = None
depends_on = None

_ACTIVE = "state IN ('queued', 'running')"


def upgrade():
    op.create_table('job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('state', sa.String(length=10), server_default='queued', nullable=False),
    sa.Column('step', sa.String(length=200), server_default='', nullable=False),
    sa.Column('progress', sa.Integer(), server_default='0', nullable=False),
    sa.Column('args', sa.JSON(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.Column('error', sa.Text(), server_default='', nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("state IN ('queued', 'running', 'succeeded', 'failed')", name=op.f('ck_job_state')),
    sa.CheckConstraint('progress >= 0 AND progress <= 100', name=op.f('ck_job_progress')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_job_created_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job'))
    )
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_job_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index('ix_job_state_heartbeat_at', ['state', 'heartbeat_at'], unique=False)
        batch_op.create_index('uq_job_active_kind_key', ['kind', 'key'], unique=True,
                              sqlite_where=sa.text(_ACTIVE), postgresql_where=sa.text(_ACTIVE))


def downgrade():
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.drop_index('uq_job_active_kind_key', sqlite_where=sa.text(_ACTIVE), postgresql_where=sa.text(_ACTIVE))
        batch_op.drop_index('ix_job_state_heartbeat_at')
        batch_op.drop_index(batch_op.f('ix_job_created_by_id'))

    op.drop_table('job')
