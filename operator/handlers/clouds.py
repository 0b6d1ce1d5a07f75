"""The cloud half of a run's steps: credentials (STS AssumeRole into the company's role with
its external id; the Azure service principal from the Secret the Company names), dispatch
(SSM SendCommand, which looks the command up by its intent token first; Azure managed Run
Command by its name, adopted when it exists) and one poll of every target. Blocking calls:
the remediator runs them in a thread."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from whisperer.operator.aws import Aws, CommandRequest, Ssm, session_name
from whisperer.operator.azure import (
    Azure,
    RunCommandRequest,
    RunCommands,
    ServicePrincipal,
    VmRef,
    run_command_name,
)
from whisperer.operator.kube import KubeClient
from whisperer.operator.models.v1alpha1 import Company
from whisperer.operator.remote import Outcome
from whisperer.operator.services.remediation.steps import (
    AZURE_STATUS,
    DELIVERY_TIMEOUT,
    SSM_STATUS,
    Admitted,
    StepFailedError,
    TargetState,
)
from whisperer.operator.services.tenancy import PLATFORM_NAMESPACE


@dataclass(frozen=True)
class Session:
    """What dispatch and poll act with: an SSM client in the targets' region, or Run Command
    with the company's service principal."""

    ssm: Ssm | None = None
    azure: RunCommands | None = None


class Clouds:
    """The operator's AWS and Azure wrappers, used on behalf of one run at a time."""

    def __init__(self, *, aws: Aws, azure: Azure, kube: KubeClient) -> None:
        self.aws = aws
        self.azure = azure
        self.kube = kube

    def credentials(
        self, admitted: Admitted, company: Company, *, namespace: str, run: str
    ) -> Session:
        """The credentials step."""
        if admitted.provider == "aws-ssm":
            return self._aws(admitted, company, namespace=namespace, run=run)
        return self._azure(admitted, company)

    def _aws(self, admitted: Admitted, company: Company, *, namespace: str, run: str) -> Session:
        regions = {t.region for t in admitted.targets}
        if len(regions) != 1 or None in regions:
            raise StepFailedError(
                "credentials", "RegionUnknown", "one run's AWS targets must name one region"
            )
        region = str(next(iter(regions)))
        accounts = company.spec.cloud.aws
        account = next((a for a in accounts if region in a.regions), None) or (
            accounts[0] if accounts else None
        )
        if account is None:
            raise StepFailedError(
                "credentials", "NoCloudAccount", "the company names no AWS account"
            )
        external_id = (company.status.external_id if company.status else None) or ""
        if not external_id:
            raise StepFailedError(
                "credentials",
                "ExternalIdMissing",
                "the company has no external id yet",
                waiting=True,
            )
        creds = self.aws.assume_role(
            role_arn=account.role_arn,
            external_id=external_id,
            session=session_name(namespace, run),
            region=region,
        )
        return Session(ssm=Ssm(self.aws, region=region, credentials=creds))

    def _azure(self, admitted: Admitted, company: Company) -> Session:
        subscriptions = {VmRef.parse(t.resource_id or "").subscription_id for t in admitted.targets}
        found = [s for s in company.spec.cloud.azure if s.subscription_id in subscriptions]
        if not found or not found[0].credentials_secret:
            raise StepFailedError(
                "credentials",
                "NoCloudAccount",
                "the company names no Azure subscription with a credentials Secret for "
                + ", ".join(sorted(subscriptions)),
            )
        sub = found[0]
        secret = self.kube.read_secret(str(sub.credentials_secret), PLATFORM_NAMESPACE)
        if secret is None or not {"clientId", "clientSecret"} <= set(secret[0]):
            raise StepFailedError(
                "credentials",
                "CredentialsMissing",
                f"Secret {PLATFORM_NAMESPACE}/{sub.credentials_secret} lacks clientId and "
                "clientSecret",
                waiting=True,
            )
        data = secret[0]
        principal = ServicePrincipal(
            data.get("tenantId") or sub.tenant_id, data["clientId"], data["clientSecret"]
        )
        return Session(azure=RunCommands(self.azure, principal))

    def dispatch(
        self,
        session: Session,
        admitted: Admitted,
        *,
        token: str,
        namespace: str,
        run: str,
        attempt: int,
        recorded_at: Any,
    ) -> str:
        """Send (or adopt) the run's command; its id (SSM) or run command name (Azure)."""
        spec = admitted.runbook.spec
        if session.ssm is not None:
            request = CommandRequest(
                token=token,
                instance_ids=tuple(t.instance_id or "" for t in admitted.targets),
                platform=spec.platform,
                shell=spec.shell,
                script=spec.script,
                parameters=admitted.parameters,
                execution_timeout=admitted.timeout_seconds,
                delivery_timeout=DELIVERY_TIMEOUT,
                invoked_after=recorded_at,
            )
            dispatched = session.ssm.dispatch(request)
            return ",".join(d.command_id for d in dispatched)
        assert session.azure is not None
        name = run_command_name(namespace, run, str(attempt))
        for target in admitted.targets:
            session.azure.start(
                RunCommandRequest(
                    name=name,
                    vm=VmRef.parse(target.resource_id or ""),
                    platform=spec.platform,
                    shell=spec.shell,
                    script=spec.script,
                    parameters=admitted.parameters,
                    timeout_seconds=admitted.timeout_seconds,
                )
            )
        return name

    def poll(self, session: Session, admitted: Admitted, *, command_id: str) -> list[TargetState]:
        """One look at every target."""
        out: list[TargetState] = []
        ids = command_id.split(",")
        for i, target in enumerate(admitted.targets):
            if session.ssm is not None:
                batch = ids[min(i // 50, len(ids) - 1)]
                inv = session.ssm.invocation(batch, target.instance_id or "")
                text = inv.stdout + (f"\n{inv.stderr}" if inv.stderr else "")
                out.append(
                    TargetState(
                        target=target.asset,
                        status=SSM_STATUS.get(str(inv.state), "Pending"),
                        outcome=inv.outcome,
                        exit_code=inv.exit_code,
                        output=text[-4000:],
                        delivery_timed_out=str(inv.state) == "DeliveryTimedOut",
                    )
                )
            else:
                assert session.azure is not None
                res = session.azure.poll(VmRef.parse(target.resource_id or ""), command_id)
                text = res.stdout + (f"\n{res.stderr}" if res.stderr else "")
                out.append(
                    TargetState(
                        target=target.asset,
                        status=(
                            "Failed"
                            if res.outcome == Outcome.FAILED
                            else AZURE_STATUS.get(str(res.state), "Pending")
                        ),
                        outcome=res.outcome,
                        exit_code=res.exit_code,
                        output=text[-4000:],
                    )
                )
        return out


__all__ = ["Clouds", "Session"]
