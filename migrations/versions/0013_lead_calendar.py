"""holiday calendar: days the office enters over the installed chinese-calendar

Revision ID: 0013_lead_calendar
Revises: 0012_lead_selfcheck_due
Create Date: 2026-12-03 09:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0013_lead_calendar'
down_revision = '0012_lead_selfcheck_due'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'calendar_day',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('is_workday', sa.Boolean(), nullable=False),
        sa.Column('note', sa.String(length=100), server_default='', nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'],
                                name=op.f('fk_calendar_day_created_by_id_user_account')),
        sa.PrimaryKeyConstraint('day', name=op.f('pk_calendar_day')),
    )


def downgrade():
    op.drop_table('calendar_day')
