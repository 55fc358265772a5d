"""gdp deflator: HM Treasury's calendar-year GDP deflator as reference data, each row with its provenance

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 20:52:20.561969
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# v_la_send_funding_gap reads the deflator with the querying role's rights (security_invoker), so a trust role
# granted before this table existed would lose the view: give each such role what grant-trust now gives.
GRANT_EXISTING_TRUST_ROLES = """
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT a.role_name FROM trust_access_role a JOIN pg_roles p ON p.rolname = a.role_name LOOP
        EXECUTE format('GRANT SELECT ON ref_gdp_deflator TO %I', r.role_name);
    END LOOP;
END $$
"""


def upgrade() -> None:
    op.create_table(
        "ref_gdp_deflator",
        sa.Column(
            "calendar_year",
            sa.BigInteger(),
            autoincrement=False,
            nullable=False,
            comment="Calendar year, January to December (not a financial year).",
        ),
        sa.Column(
            "index_value", sa.Double(), nullable=True, comment="GDP deflator index for the year, base_year = 100."
        ),
        sa.Column(
            "series",
            sa.Text(),
            nullable=True,
            comment="Name of the series: HM Treasury GDP deflator at market prices, December 2025 update.",
        ),
        sa.Column(
            "base_year",
            sa.BigInteger(),
            nullable=True,
            comment="Calendar year whose index is 100 (2024): real terms are in that year's prices.",
        ),
        sa.Column(
            "period_basis",
            sa.String(),
            nullable=True,
            comment="calendar_year: every index covers January to December, never April to March.",
        ),
        sa.Column(
            "source",
            sa.Text(),
            nullable=True,
            comment="The publication, in the secondary source's own words (its data_versions.csv).",
        ),
        sa.Column(
            "source_notes",
            sa.Text(),
            nullable=True,
            comment="The secondary source's notes on the file it read (its data_versions.csv).",
        ),
        sa.Column(
            "obtained_from",
            sa.Text(),
            nullable=True,
            comment="Where the values were copied from: the greenbook R package (MIT licence) at a commit; HM "
            "Treasury's workbook is not held, so the values are not checked against it.",
        ),
        sa.Column(
            "is_derived",
            sa.Boolean(),
            nullable=True,
            comment="True: a secondary source's extract of HM Treasury's figures, not the workbook.",
        ),
        sa.PrimaryKeyConstraint("calendar_year"),
        comment="One row per calendar year: HM Treasury's GDP deflator at market prices (December 2025 update), "
        "calendar years only, as extracted by a secondary source; each row says where it comes from.",
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(GRANT_EXISTING_TRUST_ROLES)


def downgrade() -> None:
    op.drop_table("ref_gdp_deflator")
