"""group register and trust status: the GIAS all-groups register, and each trust's status, dates and UKPRN

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 15:24:38.993600
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "group_register_snapshot",
        sa.Column("group_uid", sa.String(), nullable=False, comment="GIAS Group UID (trust_id for academy trusts)."),
        sa.Column("snapshot_date", sa.Date(), nullable=False, comment="Date of the register."),
        sa.Column(
            "group_ref",
            sa.String(),
            nullable=True,
            comment="GIAS Group ID: TR01234 for an academy trust; free text for other groups.",
        ),
        sa.Column("group_name", sa.Text(), nullable=True, comment="Group name."),
        sa.Column(
            "group_type",
            sa.Text(),
            nullable=True,
            comment="Multi-academy trust, Single-academy trust, School sponsor, Federation, ...",
        ),
        sa.Column("group_status", sa.Text(), nullable=True, comment="Open or Closed."),
        sa.Column("companies_house_number", sa.String(), nullable=True, comment="Companies House number of the group."),
        sa.Column("open_date", sa.Date(), nullable=True, comment="Date the group opened in GIAS."),
        sa.Column("closed_date", sa.Date(), nullable=True, comment="Date the group closed."),
        sa.Column(
            "incorporated_on",
            sa.Date(),
            nullable=True,
            comment="Date the trust was incorporated (GIAS: 'Incorporated on (open date)').",
        ),
        sa.Column("ukprn", sa.String(), nullable=True, comment="UK provider reference number."),
        sa.Column("source_row_number", sa.BigInteger(), nullable=True, comment="Row in the source file."),
        sa.Column("load_id", sa.BigInteger(), nullable=True, comment="The etl_load row that put this row here."),
        sa.PrimaryKeyConstraint("group_uid", "snapshot_date"),
        comment="One row per group per GIAS all-groups register (allgroupsdata), no schools.",
    )
    op.create_index(op.f("ix_group_register_snapshot_load_id"), "group_register_snapshot", ["load_id"], unique=False)
    op.add_column(
        "dim_trust",
        sa.Column(
            "trust_status",
            sa.Text(),
            nullable=True,
            comment="Open or Closed, from the newest GIAS all-groups register; NULL without one.",
        ),
    )
    op.add_column(
        "dim_trust",
        sa.Column(
            "open_date", sa.Date(), nullable=True, comment="Date the trust opened, from the newest all-groups register."
        ),
    )
    op.add_column(
        "dim_trust",
        sa.Column(
            "closed_date",
            sa.Date(),
            nullable=True,
            comment="Date the trust closed, from the newest all-groups register.",
        ),
    )
    op.add_column(
        "dim_trust",
        sa.Column(
            "incorporated_on",
            sa.Date(),
            nullable=True,
            comment="Date the trust was incorporated, from the newest all-groups register.",
        ),
    )
    op.add_column(
        "dim_trust",
        sa.Column(
            "ukprn",
            sa.String(),
            nullable=True,
            comment="UK provider reference number, from the newest all-groups register.",
        ),
    )
    op.add_column(
        "dim_trust",
        sa.Column(
            "register_date",
            sa.Date(),
            nullable=True,
            comment="Date of the all-groups register the status, dates and UKPRN come from; NULL when no register names the trust.",
        ),
    )


def downgrade() -> None:
    with op.batch_alter_table("dim_trust") as batch:  # SQLite drops a column by copying the table
        for column in ("register_date", "ukprn", "incorporated_on", "closed_date", "open_date", "trust_status"):
            batch.drop_column(column)
    op.drop_index(op.f("ix_group_register_snapshot_load_id"), table_name="group_register_snapshot")
    op.drop_table("group_register_snapshot")
