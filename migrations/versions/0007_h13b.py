"""accounts and residents' trust: forced password change, resident contact consent

Revision ID: 0007_h13b
Revises: 0006
Create Date: 2026-12-02 14:50:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0007_h13b'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), server_default=sa.text('false'),
                                      nullable=False))
    with op.batch_alter_table('resident_response', schema=None) as batch_op:
        batch_op.add_column(sa.Column('may_contact', sa.Boolean(), server_default=sa.text('false'), nullable=False))


def downgrade():
    with op.batch_alter_table('resident_response', schema=None) as batch_op:
        batch_op.drop_column('may_contact')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('must_change_password')
