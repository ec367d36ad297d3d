"""request ids on outbox messages and jobs

Revision ID: app_request_ids
Revises: app_user_sessions
Create Date: 2026-12-03 20:15:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'app_request_ids'
down_revision = 'app_user_sessions'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('request_id', sa.String(length=64), server_default='', nullable=False))
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.add_column(sa.Column('request_id', sa.String(length=64), server_default='', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.drop_column('request_id')
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_column('request_id')
