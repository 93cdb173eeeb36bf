"""uploaded files waiting for their import job (kept in the database, shared by web and worker)

Revision ID: 0009_h19jobs
Revises: 0009_notify
Create Date: 2026-12-02 19:20:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0009_h19jobs'
down_revision = '0009_notify'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'job_file',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('filename', sa.String(length=200), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint('size >= 0', name=op.f('ck_job_file_size')),
        sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'],
                                name=op.f('fk_job_file_created_by_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_job_file')),
    )
    with op.batch_alter_table('job_file', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_job_file_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_job_file_created_by_id'), ['created_by_id'], unique=False)


def downgrade():
    with op.batch_alter_table('job_file', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_job_file_created_by_id'))
        batch_op.drop_index(batch_op.f('ix_job_file_created_at'))
    op.drop_table('job_file')
