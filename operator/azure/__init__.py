"""Azure for the operator: managed Run Command on VMs with a company's service principal;
the only package that imports `azure.*` (an import contract says so).

The ARM and login endpoints are configurable (`AzureSettings`); errors are ours
(`whisperer.operator.errors`), translated once in `client`.
"""

from whisperer.operator.azure.client import Azure, ServicePrincipal
from whisperer.operator.azure.runcommand import (
    RunCommandRequest,
    RunCommands,
    RunResult,
    RunState,
    Started,
    VmRef,
    run_command_name,
)
from whisperer.operator.azure.settings import AzureSettings

__all__ = [
    "Azure",
    "AzureSettings",
    "RunCommandRequest",
    "RunCommands",
    "RunResult",
    "RunState",
    "ServicePrincipal",
    "Started",
    "VmRef",
    "run_command_name",
]
