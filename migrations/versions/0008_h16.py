"""monitoring: case stages and deadlines, response-time targets

Revision ID: 0008_h16
Revises: 0007_h17
"""
import sqlalchemy as sa
from alembic import op

revision = "0008_h16"
down_revision = "0007_h17"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("case_record", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stage", sa.String(length=12), server_default="accepted", nullable=False))
        batch_op.add_column(sa.Column("accepted_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("filed_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("solved_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("transferred_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("stage_deadline", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("officer_id", sa.Integer(), nullable=True))
    # Existing records: accepted on their case date; closed ones count as solved that day.
    op.execute("UPDATE case_record SET accepted_on = case_date")
    op.execute("UPDATE case_record SET stage = 'solved', solved_on = case_date WHERE status = 'closed'")
    with op.batch_alter_table("case_record", schema=None) as batch_op:
        batch_op.alter_column("accepted_on", existing_type=sa.Date(), nullable=False)
        batch_op.create_check_constraint(
            op.f("ck_case_record_stage"), "stage IN ('accepted', 'filed', 'solved', 'transferred')")
        batch_op.create_check_constraint(
            op.f("ck_case_record_stage_status"), "(stage IN ('solved', 'transferred')) = (status = 'closed')")
        batch_op.create_check_constraint(op.f("ck_case_record_filed_after_accepted"),
                                         "filed_on IS NULL OR filed_on >= accepted_on")
        batch_op.create_check_constraint(op.f("ck_case_record_solved_after_accepted"),
                                         "solved_on IS NULL OR solved_on >= accepted_on")
        batch_op.create_check_constraint(op.f("ck_case_record_transferred_after_accepted"),
                                         "transferred_on IS NULL OR transferred_on >= accepted_on")
        batch_op.create_foreign_key(batch_op.f("fk_case_record_officer_id_officer"), "officer", ["officer_id"], ["id"])
        batch_op.create_index(batch_op.f("ix_case_record_officer_id"), ["officer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_record_stage_deadline"), ["stage_deadline"], unique=False)
        batch_op.create_index("ix_case_record_unit_stage", ["unit_id", "stage"], unique=False)
        batch_op.create_index("ix_case_record_unit_accepted", ["unit_id", "accepted_on"], unique=False)
    op.create_table(
        "response_target",
        sa.Column("category", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.CheckConstraint("category IN (1, 2, 3)", name=op.f("ck_response_target_category")),
        sa.CheckConstraint("minutes > 0 AND minutes <= 240", name=op.f("ck_response_target_minutes")),
        sa.PrimaryKeyConstraint("category", name=op.f("pk_response_target")),
    )


def downgrade():
    op.drop_table("response_target")
    with op.batch_alter_table("case_record", schema=None) as batch_op:
        batch_op.drop_index("ix_case_record_unit_accepted")
        batch_op.drop_index("ix_case_record_unit_stage")
        batch_op.drop_index(batch_op.f("ix_case_record_stage_deadline"))
        batch_op.drop_index(batch_op.f("ix_case_record_officer_id"))
        batch_op.drop_constraint(batch_op.f("fk_case_record_officer_id_officer"), type_="foreignkey")
        batch_op.drop_constraint(op.f("ck_case_record_transferred_after_accepted"), type_="check")
        batch_op.drop_constraint(op.f("ck_case_record_solved_after_accepted"), type_="check")
        batch_op.drop_constraint(op.f("ck_case_record_filed_after_accepted"), type_="check")
        batch_op.drop_constraint(op.f("ck_case_record_stage_status"), type_="check")
        batch_op.drop_constraint(op.f("ck_case_record_stage"), type_="check")
        batch_op.drop_column("officer_id")
        batch_op.drop_column("stage_deadline")
        batch_op.drop_column("transferred_on")
        batch_op.drop_column("solved_on")
        batch_op.drop_column("filed_on")
        batch_op.drop_column("accepted_on")
        batch_op.drop_column("stage")
