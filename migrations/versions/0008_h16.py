"""monitoring: case stages and deadlines, response-time targets, monthly self-checks

Revision ID: 0008_h16
Revises: 0007_h17
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_h16"
down_revision = "0007_h19"
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
            op.f("ck_case_record_stage"), "stage IN ('accepted', 'filed', 'solved', 'transferred')"
        )
        batch_op.create_check_constraint(
            op.f("ck_case_record_stage_status"), "(stage IN ('solved', 'transferred')) = (status = 'closed')"
        )
        batch_op.create_check_constraint(
            op.f("ck_case_record_filed_after_accepted"), "filed_on IS NULL OR filed_on >= accepted_on"
        )
        batch_op.create_check_constraint(
            op.f("ck_case_record_solved_after_accepted"), "solved_on IS NULL OR solved_on >= accepted_on"
        )
        batch_op.create_check_constraint(
            op.f("ck_case_record_transferred_after_accepted"), "transferred_on IS NULL OR transferred_on >= accepted_on"
        )
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
    op.create_table(
        "derived_indicator",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("marked_at", sa.DateTime(), nullable=False),
        sa.Column("marked_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["marked_by_id"], ["user_account.id"], name=op.f("fk_derived_indicator_marked_by_id_user_account")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_derived_indicator")),
    )
    op.create_table(
        "connector",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("token", sa.String(length=200), server_default="", nullable=False),
        sa.Column("interval_minutes", sa.Integer(), server_default="15", nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("watermark", sa.String(length=100), server_default="", nullable=False),
        sa.Column("last_run_at", sa.DateTime(), nullable=True),
        sa.Column("last_success_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), server_default="", nullable=False),
        sa.Column("last_rows", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_created", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_updated", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("interval_minutes >= 1 AND interval_minutes <= 1440", name=op.f("ck_connector_interval")),
        sa.CheckConstraint("kind IN ('incidents', 'cases')", name=op.f("ck_connector_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connector")),
        sa.UniqueConstraint("name", name=op.f("uq_connector_name")),
    )
    # The monthly self-check (月自查), its items, rectification items (整改项) and evidence (台账).
    op.create_table(
        "self_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=10), server_default="draft", nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("summary", sa.Text(), server_default="", nullable=False),
        sa.Column("return_reason", sa.Text(), server_default="", nullable=False),
        sa.Column("times_returned", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(), nullable=True),
        sa.Column("submitted_by_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(), nullable=True),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "status <> 'returned' OR return_reason <> ''", name=op.f("ck_self_check_returned_has_reason")
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'submitted', 'returned', 'accepted')", name=op.f("ck_self_check_status")
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by_id"], ["user_account.id"], name=op.f("fk_self_check_reviewed_by_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by_id"], ["user_account.id"], name=op.f("fk_self_check_submitted_by_id_user_account")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_self_check_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_self_check")),
        sa.UniqueConstraint("unit_id", "month", name=op.f("uq_self_check_unit_id_month")),
    )
    op.create_table(
        "self_check_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("self_check_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("unit_of_measure", sa.String(length=20), server_default="", nullable=False),
        sa.Column("direction", sa.String(length=8), server_default="higher", nullable=False),
        sa.Column("live_value", sa.Double(), nullable=True),
        sa.Column("target", sa.Double(), nullable=True),
        sa.Column("light", sa.String(length=5), server_default="none", nullable=False),
        sa.Column("source", sa.String(length=100), server_default="", nullable=False),
        sa.Column("self_score", sa.Double(), nullable=True),
        sa.Column("comment", sa.Text(), server_default="", nullable=False),
        sa.Column("verified_score", sa.Double(), nullable=True),
        sa.CheckConstraint("light IN ('green', 'amber', 'red', 'none')", name=op.f("ck_self_check_item_light")),
        sa.CheckConstraint(
            "self_score IS NULL OR (self_score >= 0 AND self_score <= 100)", name=op.f("ck_self_check_item_self_score")
        ),
        sa.CheckConstraint(
            "verified_score IS NULL OR (verified_score >= 0 AND verified_score <= 100)",
            name=op.f("ck_self_check_item_verified_score"),
        ),
        sa.ForeignKeyConstraint(
            ["self_check_id"],
            ["self_check.id"],
            name=op.f("fk_self_check_item_self_check_id_self_check"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_self_check_item")),
        sa.UniqueConstraint("self_check_id", "code", name=op.f("uq_self_check_item_self_check_id_code")),
    )
    with op.batch_alter_table("self_check_item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_self_check_item_self_check_id"), ["self_check_id"], unique=False)

    op.create_table(
        "rectification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("self_check_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("what", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=50), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=6), server_default="open", nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("close_note", sa.Text(), server_default="", nullable=False),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "status = 'open' OR (closed_at IS NOT NULL AND close_note <> '')",
            name=op.f("ck_rectification_closed_has_note"),
        ),
        sa.CheckConstraint("status IN ('open', 'closed')", name=op.f("ck_rectification_status")),
        sa.ForeignKeyConstraint(
            ["closed_by_id"], ["user_account.id"], name=op.f("fk_rectification_closed_by_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["self_check_item.id"],
            name=op.f("fk_rectification_item_id_self_check_item"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["self_check_id"],
            ["self_check.id"],
            name=op.f("fk_rectification_self_check_id_self_check"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_rectification_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rectification")),
    )
    with op.batch_alter_table("rectification", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rectification_item_id"), ["item_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_rectification_self_check_id"), ["self_check_id"], unique=False)
        batch_op.create_index("ix_rectification_unit_status_due", ["unit_id", "status", "due_on"], unique=False)

    op.create_table(
        "evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("self_check_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("rectification_id", sa.Integer(), nullable=True),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("uploaded_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "content_type IN ('application/pdf', 'image/jpeg', 'image/png', "
            "'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet')",
            name=op.f("ck_evidence_content_type"),
        ),
        sa.CheckConstraint("size > 0 AND size <= 5242880", name=op.f("ck_evidence_size")),
        sa.ForeignKeyConstraint(
            ["item_id"], ["self_check_item.id"], name=op.f("fk_evidence_item_id_self_check_item"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["rectification_id"],
            ["rectification.id"],
            name=op.f("fk_evidence_rectification_id_rectification"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["self_check_id"], ["self_check.id"], name=op.f("fk_evidence_self_check_id_self_check"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"], ["user_account.id"], name=op.f("fk_evidence_uploaded_by_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence")),
    )
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evidence_self_check_id"), ["self_check_id"], unique=False)


def downgrade():
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evidence_self_check_id"))

    op.drop_table("evidence")
    with op.batch_alter_table("rectification", schema=None) as batch_op:
        batch_op.drop_index("ix_rectification_unit_status_due")
        batch_op.drop_index(batch_op.f("ix_rectification_self_check_id"))
        batch_op.drop_index(batch_op.f("ix_rectification_item_id"))

    op.drop_table("rectification")
    with op.batch_alter_table("self_check_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_self_check_item_self_check_id"))

    op.drop_table("self_check_item")
    op.drop_table("self_check")
    op.drop_table("connector")
    op.drop_table("derived_indicator")
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
