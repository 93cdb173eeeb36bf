"""notification channels: users' mobile and e-mail, channel preferences, SMS to residents

Revision ID: 0010_h20chan
Revises: 0009_notify
Create Date: 2026-12-02 19:10:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0010_h20chan'
down_revision = '0009_h19jobs'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mobile', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('email', sa.String(length=254), nullable=True))
    op.create_table(
        'notification_preference',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('channel', sa.String(length=10), nullable=False),
        sa.Column('is_enabled', sa.Boolean(), server_default=sa.text('true'), nullable=False),
        sa.CheckConstraint("channel IN ('sms', 'email')", name=op.f('ck_notification_preference_channel')),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'],
                                name=op.f('fk_notification_preference_user_id_user_account'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', 'kind', 'channel', name=op.f('pk_notification_preference')),
    )
    op.create_table(
        'resident_contact',
        sa.Column('invitation_id', sa.Integer(), nullable=False),
        sa.Column('phone', sa.String(length=20), nullable=True),
        sa.Column('sealed_token', sa.String(length=200), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('erased_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['invitation_id'], ['resident_invitation.id'],
                                name=op.f('fk_resident_contact_invitation_id_resident_invitation'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('invitation_id', name=op.f('pk_resident_contact')),
    )
    op.create_table(
        'resident_sms',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('invitation_id', sa.Integer(), nullable=False),
        sa.Column('purpose', sa.String(length=10), nullable=False),
        sa.Column('status', sa.String(length=10), server_default='queued', nullable=False),
        sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(), nullable=True),
        sa.Column('provider_response', sa.Text(), server_default='', nullable=False),
        sa.Column('last_error', sa.Text(), server_default='', nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('sent_at', sa.DateTime(), nullable=True),
        sa.CheckConstraint("purpose IN ('invite', 'reminder')", name=op.f('ck_resident_sms_purpose')),
        sa.CheckConstraint("status IN ('queued', 'sent', 'retrying', 'failed', 'given_up', 'cancelled')",
                           name=op.f('ck_resident_sms_status')),
        sa.CheckConstraint('attempts >= 0', name=op.f('ck_resident_sms_attempts')),
        sa.ForeignKeyConstraint(['invitation_id'], ['resident_invitation.id'],
                                name=op.f('fk_resident_sms_invitation_id_resident_invitation'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_resident_sms')),
        sa.UniqueConstraint('invitation_id', 'purpose', name=op.f('uq_resident_sms_invitation_id_purpose')),
    )
    with op.batch_alter_table('resident_sms', schema=None) as batch_op:
        batch_op.create_index('ix_resident_sms_status_next_attempt_at', ['status', 'next_attempt_at'], unique=False)


def downgrade():
    with op.batch_alter_table('resident_sms', schema=None) as batch_op:
        batch_op.drop_index('ix_resident_sms_status_next_attempt_at')
    op.drop_table('resident_sms')
    op.drop_table('resident_contact')
    op.drop_table('notification_preference')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('email')
        batch_op.drop_column('mobile')
