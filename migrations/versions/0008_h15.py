"""results path: the approving committee, rounds of approval and public notice (公示), decisions

Revision ID: 0008_h15
Revises: 0007_h14a
Create Date: 2026-12-02 16:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0008_h15'
down_revision = "0008_h16"
branch_labels = None
depends_on = None

ACTIVE = "status IN ('submitted', 'notice')"
OPEN = "status = 'open'"


def upgrade():
    op.create_table(
        'committee_member',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('cycle_id', sa.Integer(), nullable=True),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['cycle_id'], ['cycle.id'], name=op.f('fk_committee_member_cycle_id_cycle')),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'],
                                name=op.f('fk_committee_member_user_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_committee_member')),
        sa.UniqueConstraint('cycle_id', 'user_id', name=op.f('uq_committee_member_cycle_id_user_id')),
    )
    with op.batch_alter_table('committee_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_committee_member_cycle_id'), ['cycle_id'], unique=False)
        batch_op.create_index('uq_committee_member_installation', ['user_id'], unique=True,
                              sqlite_where=sa.text('cycle_id IS NULL'),
                              postgresql_where=sa.text('cycle_id IS NULL'))
    op.create_table(
        'result_approval',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('run_id', sa.Integer(), nullable=False),
        sa.Column('cycle_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=10), server_default='submitted', nullable=False),
        sa.Column('approver_ids', sa.JSON(), nullable=False),
        sa.Column('required_approvals', sa.Integer(), nullable=False),
        sa.Column('approvals', sa.Integer(), server_default='0', nullable=False),
        sa.Column('notice_days', sa.Integer(), server_default='5', nullable=False),
        sa.Column('note', sa.Text(), server_default='', nullable=False),
        sa.Column('return_reason', sa.Text(), server_default='', nullable=False),
        sa.Column('submitted_by_id', sa.Integer(), nullable=True),
        sa.Column('submitted_at', sa.DateTime(), nullable=False),
        sa.Column('decided_at', sa.DateTime(), nullable=True),
        sa.Column('notice_starts_on', sa.Date(), nullable=True),
        sa.Column('notice_ends_on', sa.Date(), nullable=True),
        sa.Column('finalized_at', sa.DateTime(), nullable=True),
        sa.CheckConstraint("status IN ('submitted', 'returned', 'notice', 'final', 'superseded')",
                           name=op.f('ck_result_approval_status')),
        sa.CheckConstraint('notice_days >= 1 AND notice_days <= 30', name=op.f('ck_result_approval_notice_days')),
        sa.CheckConstraint('required_approvals >= 1', name=op.f('ck_result_approval_required')),
        sa.CheckConstraint('approvals >= 0 AND approvals <= required_approvals',
                           name=op.f('ck_result_approval_approvals')),
        sa.CheckConstraint("status NOT IN ('notice', 'final') OR (approvals = required_approvals"
                           " AND notice_starts_on IS NOT NULL AND notice_ends_on >= notice_starts_on)",
                           name=op.f('ck_result_approval_notice_dates')),
        sa.CheckConstraint("status <> 'final' OR finalized_at IS NOT NULL", name=op.f('ck_result_approval_finalized')),
        sa.ForeignKeyConstraint(['cycle_id'], ['cycle.id'], name=op.f('fk_result_approval_cycle_id_cycle')),
        sa.ForeignKeyConstraint(['run_id'], ['score_run.id'], name=op.f('fk_result_approval_run_id_score_run')),
        sa.ForeignKeyConstraint(['submitted_by_id'], ['user_account.id'],
                                name=op.f('fk_result_approval_submitted_by_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_result_approval')),
    )
    with op.batch_alter_table('result_approval', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_result_approval_cycle_id'), ['cycle_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_result_approval_run_id'), ['run_id'], unique=False)
        batch_op.create_index('uq_result_approval_active_cycle', ['cycle_id'], unique=True,
                              sqlite_where=sa.text(ACTIVE), postgresql_where=sa.text(ACTIVE))
    op.create_table(
        'approval_decision',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('approval_id', sa.Integer(), nullable=False),
        sa.Column('approver_id', sa.Integer(), nullable=False),
        sa.Column('decision', sa.String(length=8), nullable=False),
        sa.Column('reason', sa.Text(), server_default='', nullable=False),
        sa.Column('decided_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint("decision IN ('approve', 'return')", name=op.f('ck_approval_decision_decision')),
        sa.CheckConstraint("decision <> 'return' OR length(reason) > 0",
                           name=op.f('ck_approval_decision_return_reason')),
        sa.ForeignKeyConstraint(['approval_id'], ['result_approval.id'],
                                name=op.f('fk_approval_decision_approval_id_result_approval')),
        sa.ForeignKeyConstraint(['approver_id'], ['user_account.id'],
                                name=op.f('fk_approval_decision_approver_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_decision')),
        sa.UniqueConstraint('approval_id', 'approver_id', name=op.f('uq_approval_decision_approval_id_approver_id')),
    )
    with op.batch_alter_table('approval_decision', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_approval_decision_approval_id'), ['approval_id'], unique=False)
    op.create_table(
        'objection',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('cycle_id', sa.Integer(), nullable=False),
        sa.Column('approval_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=True),
        sa.Column('officer_id', sa.Integer(), nullable=True),
        sa.Column('subject_key', sa.String(length=24), nullable=False),
        sa.Column('item_kind', sa.String(length=10), nullable=False),
        sa.Column('item_code', sa.String(length=64), server_default='', nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=10), server_default='open', nullable=False),
        sa.Column('filed_by_id', sa.Integer(), nullable=False),
        sa.Column('filed_at', sa.DateTime(), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('reply', sa.Text(), server_default='', nullable=False),
        sa.Column('answered_by_id', sa.Integer(), nullable=True),
        sa.Column('answered_at', sa.DateTime(), nullable=True),
        sa.Column('correction_run_id', sa.Integer(), nullable=True),
        sa.CheckConstraint('(unit_id IS NULL) <> (officer_id IS NULL)', name=op.f('ck_objection_one_subject')),
        sa.CheckConstraint("item_kind IN ('indicator', 'soft', 'grade', 'rank')", name=op.f('ck_objection_item_kind')),
        sa.CheckConstraint("status IN ('open', 'accepted', 'rejected')", name=op.f('ck_objection_status')),
        sa.CheckConstraint('length(reason) > 0', name=op.f('ck_objection_reason')),
        sa.CheckConstraint("status = 'open' OR (length(reply) > 0 AND answered_at IS NOT NULL)",
                           name=op.f('ck_objection_answered')),
        sa.ForeignKeyConstraint(['answered_by_id'], ['user_account.id'],
                                name=op.f('fk_objection_answered_by_id_user_account')),
        sa.ForeignKeyConstraint(['approval_id'], ['result_approval.id'],
                                name=op.f('fk_objection_approval_id_result_approval')),
        sa.ForeignKeyConstraint(['correction_run_id'], ['score_run.id'],
                                name=op.f('fk_objection_correction_run_id_score_run')),
        sa.ForeignKeyConstraint(['cycle_id'], ['cycle.id'], name=op.f('fk_objection_cycle_id_cycle')),
        sa.ForeignKeyConstraint(['filed_by_id'], ['user_account.id'],
                                name=op.f('fk_objection_filed_by_id_user_account')),
        sa.ForeignKeyConstraint(['officer_id'], ['officer.id'], name=op.f('fk_objection_officer_id_officer')),
        sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_objection_unit_id_unit')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_objection')),
    )
    with op.batch_alter_table('objection', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_objection_approval_id'), ['approval_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_objection_cycle_id'), ['cycle_id'], unique=False)
        batch_op.create_index('uq_objection_open_item', ['cycle_id', 'subject_key', 'item_kind', 'item_code'],
                              unique=True, sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))
    op.create_table(
        'objection_evidence',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('objection_id', sa.Integer(), nullable=False),
        sa.Column('filename', sa.String(length=200), nullable=False),
        sa.Column('content_type', sa.String(length=100), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint('size > 0 AND size <= 5242880', name=op.f('ck_objection_evidence_size')),
        sa.ForeignKeyConstraint(['objection_id'], ['objection.id'],
                                name=op.f('fk_objection_evidence_objection_id_objection')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_objection_evidence')),
    )
    with op.batch_alter_table('objection_evidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_objection_evidence_objection_id'), ['objection_id'], unique=False)

    op.create_table(
        'talk_record',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('cycle_id', sa.Integer(), nullable=False),
        sa.Column('held_on', sa.Date(), nullable=False),
        sa.Column('held_by', sa.String(length=200), nullable=False),
        sa.Column('with_whom', sa.String(length=200), nullable=False),
        sa.Column('notes', sa.Text(), server_default='', nullable=False),
        sa.Column('position_change', sa.Text(), server_default='', nullable=False),
        sa.Column('follow_up_on', sa.Date(), nullable=True),
        sa.Column('follow_up_done_at', sa.DateTime(), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint('length(held_by) > 0 AND length(with_whom) > 0', name=op.f('ck_talk_record_people')),
        sa.CheckConstraint('follow_up_on IS NULL OR follow_up_on >= held_on', name=op.f('ck_talk_record_follow_up')),
        sa.CheckConstraint('follow_up_done_at IS NULL OR follow_up_on IS NOT NULL', name=op.f('ck_talk_record_done')),
        sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'],
                                name=op.f('fk_talk_record_created_by_id_user_account')),
        sa.ForeignKeyConstraint(['cycle_id'], ['cycle.id'], name=op.f('fk_talk_record_cycle_id_cycle')),
        sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_talk_record_unit_id_unit')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_talk_record')),
    )
    with op.batch_alter_table('talk_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_talk_record_cycle_id'), ['cycle_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_talk_record_unit_id'), ['unit_id'], unique=False)

    op.create_table(
        'award_nomination',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('cycle_id', sa.Integer(), nullable=False),
        sa.Column('run_id', sa.Integer(), nullable=False),
        sa.Column('result_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=True),
        sa.Column('officer_id', sa.Integer(), nullable=True),
        sa.Column('subject_key', sa.String(length=24), nullable=False),
        sa.Column('confirmed_by_id', sa.Integer(), nullable=True),
        sa.Column('confirmed_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint('(unit_id IS NULL) <> (officer_id IS NULL)', name=op.f('ck_award_nomination_one_subject')),
        sa.ForeignKeyConstraint(['confirmed_by_id'], ['user_account.id'],
                                name=op.f('fk_award_nomination_confirmed_by_id_user_account')),
        sa.ForeignKeyConstraint(['cycle_id'], ['cycle.id'], name=op.f('fk_award_nomination_cycle_id_cycle')),
        sa.ForeignKeyConstraint(['officer_id'], ['officer.id'], name=op.f('fk_award_nomination_officer_id_officer')),
        sa.ForeignKeyConstraint(['result_id'], ['score_result.id'],
                                name=op.f('fk_award_nomination_result_id_score_result')),
        sa.ForeignKeyConstraint(['run_id'], ['score_run.id'], name=op.f('fk_award_nomination_run_id_score_run')),
        sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_award_nomination_unit_id_unit')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_award_nomination')),
        sa.UniqueConstraint('cycle_id', 'subject_key', name=op.f('uq_award_nomination_cycle_id_subject_key')),
    )
    with op.batch_alter_table('award_nomination', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_award_nomination_cycle_id'), ['cycle_id'], unique=False)

    op.create_table(
        'development_record',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('cycle_id', sa.Integer(), nullable=False),
        sa.Column('run_id', sa.Integer(), nullable=False),
        sa.Column('officer_id', sa.Integer(), nullable=False),
        sa.Column('track', sa.String(length=12), nullable=False),
        sa.Column('owner', sa.String(length=200), nullable=False),
        sa.Column('goals', sa.Text(), nullable=False),
        sa.Column('deadline_on', sa.Date(), nullable=False),
        sa.Column('review_status', sa.String(length=12), server_default='open', nullable=False),
        sa.Column('review_note', sa.Text(), server_default='', nullable=False),
        sa.Column('reviewed_at', sa.DateTime(), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint("track IN ('training', 'improvement')", name=op.f('ck_development_record_track')),
        sa.CheckConstraint("review_status IN ('open', 'on_track', 'achieved', 'not_achieved')",
                           name=op.f('ck_development_record_review_status')),
        sa.CheckConstraint('length(owner) > 0 AND length(goals) > 0', name=op.f('ck_development_record_owner_goals')),
        sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'],
                                name=op.f('fk_development_record_created_by_id_user_account')),
        sa.ForeignKeyConstraint(['cycle_id'], ['cycle.id'], name=op.f('fk_development_record_cycle_id_cycle')),
        sa.ForeignKeyConstraint(['officer_id'], ['officer.id'], name=op.f('fk_development_record_officer_id_officer')),
        sa.ForeignKeyConstraint(['run_id'], ['score_run.id'], name=op.f('fk_development_record_run_id_score_run')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_development_record')),
        sa.UniqueConstraint('cycle_id', 'officer_id', 'track',
                            name=op.f('uq_development_record_cycle_id_officer_id_track')),
    )
    with op.batch_alter_table('development_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_development_record_cycle_id'), ['cycle_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_development_record_officer_id'), ['officer_id'], unique=False)


def downgrade():
    with op.batch_alter_table('development_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_development_record_officer_id'))
        batch_op.drop_index(batch_op.f('ix_development_record_cycle_id'))
    op.drop_table('development_record')
    with op.batch_alter_table('award_nomination', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_award_nomination_cycle_id'))
    op.drop_table('award_nomination')
    with op.batch_alter_table('talk_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_talk_record_unit_id'))
        batch_op.drop_index(batch_op.f('ix_talk_record_cycle_id'))
    op.drop_table('talk_record')
    with op.batch_alter_table('objection_evidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_objection_evidence_objection_id'))
    op.drop_table('objection_evidence')
    with op.batch_alter_table('objection', schema=None) as batch_op:
        batch_op.drop_index('uq_objection_open_item')
        batch_op.drop_index(batch_op.f('ix_objection_cycle_id'))
        batch_op.drop_index(batch_op.f('ix_objection_approval_id'))
    op.drop_table('objection')
    with op.batch_alter_table('approval_decision', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_approval_decision_approval_id'))
    op.drop_table('approval_decision')
    with op.batch_alter_table('result_approval', schema=None) as batch_op:
        batch_op.drop_index('uq_result_approval_active_cycle')
        batch_op.drop_index(batch_op.f('ix_result_approval_run_id'))
        batch_op.drop_index(batch_op.f('ix_result_approval_cycle_id'))
    op.drop_table('result_approval')
    with op.batch_alter_table('committee_member', schema=None) as batch_op:
        batch_op.drop_index('uq_committee_member_installation')
        batch_op.drop_index(batch_op.f('ix_committee_member_cycle_id'))
    op.drop_table('committee_member')
