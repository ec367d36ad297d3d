"""item_category

Revision ID: moderation_item_category
Revises: moderation_initial
Create Date: 2026-12-03 19:46:43.820196
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel.sql.sqltypes


revision = 'moderation_item_category'
down_revision = 'moderation_initial'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('moderation_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=20), server_default='', nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('moderation_item', schema=None) as batch_op:
        batch_op.drop_column('category')

