"""Every warehouse table, one module per dataset. Importing this package registers them all."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import SQLModel

from sendflow.warehouse.models.access import TrustAccessRole
from sendflow.warehouse.models.dsg_allocation import FctLaDsgAllocation
from sendflow.warehouse.models.group_register import GroupRegisterSnapshot
from sendflow.warehouse.models.la_ehcp import FctLaEhcp, LaEhcpObservation
from sendflow.warehouse.models.la_high_needs_spend import FctLaHighNeedsSpend
from sendflow.warehouse.models.ledger import EtlLoad, EtlQuarantine
from sendflow.warehouse.models.pupil_census import FctPupilCensus
from sendflow.warehouse.models.reference import DimLocalAuthority, LaOnsCode, LaSuccessor, RefGdpDeflator
from sendflow.warehouse.models.school_census import FctSchoolCensus
from sendflow.warehouse.models.school_links import SchoolLink
from sendflow.warehouse.models.school_register import DimSchool, DimTrust, SchoolRegisterSnapshot
from sendflow.warehouse.models.trust_membership import TrustMembership, TrustMembershipSnapshot

metadata = SQLModel.metadata


def table_of(model: type[SQLModel]) -> sa.Table:
    """A table model's Table. SQLModel sets `__table__` when the class is made, but its stubs do not declare
    it; the mapper, which SQLAlchemy types, holds the same object."""
    table = sa.inspect(model).local_table
    assert isinstance(table, sa.Table), f"{model.__name__} is not a table model"
    return table


__all__ = [
    "DimLocalAuthority",
    "DimSchool",
    "DimTrust",
    "EtlLoad",
    "EtlQuarantine",
    "FctLaDsgAllocation",
    "FctLaEhcp",
    "FctLaHighNeedsSpend",
    "FctPupilCensus",
    "FctSchoolCensus",
    "GroupRegisterSnapshot",
    "LaEhcpObservation",
    "LaOnsCode",
    "LaSuccessor",
    "RefGdpDeflator",
    "SchoolLink",
    "SchoolRegisterSnapshot",
    "TrustAccessRole",
    "TrustMembership",
    "TrustMembershipSnapshot",
    "metadata",
    "table_of",
]
