"""notification reminders: the schedule of the daily reminder run (days before a deadline, time of day)

Revision ID: 0010_h20events
Revises: 0009_notify
Create Date: 2026-12-02 19:15:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0010_h20events'
down_revision = '0010_h20chan'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'reminder_schedule',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('days_before', sa.String(length=100), server_default='7,3,1', nullable=False),
        sa.Column('run_minute', sa.Integer(), server_default='480', nullable=False),
        sa.Column('last_run_on', sa.Date(), nullable=True),
        sa.Column('last_run_at', sa.DateTime(), nullable=True),
        sa.Column('last_summary', sa.JSON(), nullable=False),
        sa.CheckConstraint('id = 1', name=op.f('ck_reminder_schedule_single')),
        sa.CheckConstraint('run_minute >= 0 AND run_minute < 1440', name=op.f('ck_reminder_schedule_run_minute')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_reminder_schedule')),
    )


def downgrade():
    op.drop_table('reminder_schedule')
