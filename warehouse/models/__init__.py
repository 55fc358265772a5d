"""Every warehouse table, one module per dataset. Importing this package registers them all."""

from __future__ import annotations

from sqlmodel import SQLModel

from warehouse.models.ledger import EtlLoad, EtlQuarantine
from warehouse.models.reference import DimLocalAuthority, LaSuccessor
from warehouse.models.school_census import FctSchoolCensus
from warehouse.models.school_register import DimSchool, DimTrust, SchoolRegisterSnapshot

metadata = SQLModel.metadata

__all__ = [
    "DimLocalAuthority",
    "DimSchool",
    "DimTrust",
    "EtlLoad",
    "EtlQuarantine",
    "FctSchoolCensus",
    "LaSuccessor",
    "SchoolRegisterSnapshot",
    "metadata",
]
