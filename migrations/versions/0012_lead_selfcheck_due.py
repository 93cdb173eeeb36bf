"""self-check due day: keep the first submission of a monthly self-check

Revision ID: 0012_lead_selfcheck_due
Revises: 0011_lead_sealing
Create Date: 2026-12-03 08:40:00

Whether a station met the due day depends on its first submission, which a resubmission after a
return overwrote. Checks never returned have it (their only submission); for the others it is not
known and stays NULL, so no station is called late on a guess.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0012_lead_selfcheck_due'
down_revision = '0011_lead_sealing'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('self_check') as batch:
        batch.add_column(sa.Column('first_submitted_at', sa.DateTime(), nullable=True))
    op.execute("UPDATE self_check SET first_submitted_at = submitted_at "
               "WHERE times_returned = 0 AND submitted_at IS NOT NULL")


def downgrade():
    with op.batch_alter_table('self_check') as batch:
        batch.drop_column('first_submitted_at')
