"""request id on moderation decisions (the audit record)

Revision ID: moderation_decision_request_id
Revises: moderation_item_category
Create Date: 2026-12-03 20:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'moderation_decision_request_id'
down_revision = 'moderation_item_category'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('moderation_decision', schema=None) as batch_op:
        batch_op.add_column(sa.Column('request_id', sa.String(length=64), server_default='', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('moderation_decision', schema=None) as batch_op:
        batch_op.drop_column('request_id')
