"""assessment rules: indicator floors, per-category targets and per-capita counts, a station's
population, a run's publication note

Revision ID: 0007_h14a
Revises: 0006
Create Date: 2026-12-02 14:45:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0007_h14a'
down_revision = "0007_h13b"
branch_labels = None
depends_on = None

FLOOR_SIDE = ("floor IS NULL OR method <> 'target' OR (direction = 'higher' AND floor < target)"
              " OR (direction = 'lower' AND floor > target)")


def upgrade():
    with op.batch_alter_table('indicator', schema=None) as batch_op:
        batch_op.add_column(sa.Column('floor', sa.Double(), nullable=True))
        batch_op.add_column(sa.Column('category_targets', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('category_floors', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('per_capita', sa.Boolean(), server_default=sa.text('false'), nullable=False))
        batch_op.create_check_constraint(op.f('ck_indicator_floor_side'), FLOOR_SIDE)
        batch_op.create_check_constraint(op.f('ck_indicator_per_capita_unit'), "NOT per_capita OR level = 'unit'")
    with op.batch_alter_table('score_run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('publish_note', sa.Text(), server_default='', nullable=False))
    with op.batch_alter_table('unit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('population', sa.Integer(), nullable=True))
        batch_op.create_check_constraint(op.f('ck_unit_population'), 'population IS NULL OR population > 0')


def downgrade():
    with op.batch_alter_table('unit', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_unit_population'), type_='check')
        batch_op.drop_column('population')
    with op.batch_alter_table('score_run', schema=None) as batch_op:
        batch_op.drop_column('publish_note')
    with op.batch_alter_table('indicator', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_indicator_per_capita_unit'), type_='check')
        batch_op.drop_constraint(op.f('ck_indicator_floor_side'), type_='check')
        batch_op.drop_column('per_capita')
        batch_op.drop_column('category_floors')
        batch_op.drop_column('category_targets')
        batch_op.drop_column('floor')
