"""The OpenSearch Service domain of the compliance record, and its provisioning custom resource.

The domain lives in the private subnets behind ``search_sg`` (443 from its clients' groups), spread over two or
three AZs, with dedicated master nodes, encryption at rest and node to node, HTTPS only (TLS 1.2 with forward
secrecy) and fine-grained access control (FGAC) whose master user is an IAM role. Requests are signed (SigV4):
the access policy admits only the roles that use the domain (the provisioning role, the function roles by their
fixed names, ``search-admin-role-arn``), so a caller needs the access policy, an IAM grant
(:meth:`SearchStack.allow`) and an FGAC role mapping. The domain is retained when the stack is deleted (context
``retain-data``, stateful.py); its audit log is kept as long as the compliance indices (``search-retention-days``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_opensearchservice as opensearch
from aws_cdk import custom_resources as cr
from constructs import Construct

from riskengine_infra import nag
from riskengine_infra.bundling import FUNCTIONS_DIR
from riskengine_infra.config import LOG_RETENTION_DAYS, ContextError, DeploymentConfig
from riskengine_infra.stacks.network import PRIVATE_SUBNETS, NetworkStack, log_group
from riskengine_infra.stateful import protect_data

if TYPE_CHECKING:
    from riskengine_infra.stacks.layers import LayersStack

__all__ = ["DOMAIN_USERS", "ENGINE_VERSION", "HTTP_ACTIONS", "SearchStack", "audit_log_retention_days"]

ENGINE_VERSION = opensearch.EngineVersion.OPENSEARCH_2_19  # the newest 2.x aws-cdk-lib 2.275 knows
# es:ESHttp* spelled out: every HTTP method of the domain's REST API, and no control-plane action.
HTTP_ACTIONS = [f"es:ESHttp{method}" for method in ("Get", "Head", "Post", "Put", "Patch", "Delete")]
_HTTP_REASON = "OpenSearch's REST API is authorized per path below the domain (index, _bulk, _search ...)"
# The functions (folder names) that call the domain: the access policy names their roles.
DOMAIN_USERS = ("index_search", "report_api")


def audit_log_retention_days(config: DeploymentConfig) -> int | None:
    """The audit log's retention: the shortest CloudWatch Logs accepts that still covers ``search-retention-days``
    (the compliance indices' life); None (never expire) beyond CloudWatch's longest, ten years."""
    return next((days for days in LOG_RETENTION_DAYS if days >= config.search_retention_days), None)


class SearchStack(cdk.Stack):
    """``domain``, ``provisioning_role`` (the FGAC master user) and :meth:`allow` for the functions that read
    or write the domain. Provisioning maps the function roles (fixed names: ``DeploymentConfig.function_role_name``) and
    the optional ``search-admin-role-arn`` in FGAC, so nobody maps roles by hand."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        network: NetworkStack,
        layers: LayersStack,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self._domain_name = f"{config.prefix}-search"
        # Built from the fixed name, not the domain's attribute: the access policy lives on the domain itself,
        # and other stacks' policies need no export that would pin the domain.
        self.domain_arn = self.format_arn(
            service="es",
            resource="domain",
            resource_name=self._domain_name,
            arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
        )
        function_layers = layers.layers_for(self)
        provisioning = self._provisioning_function(config, network, layers, function_layers)
        assert provisioning.role is not None
        self.provisioning_role = provisioning.role
        # The provisioning role is the master user: only a master user can define roles and map principals.
        self.domain = self._domain(config, network, self.provisioning_role.role_arn)
        retained: dict[cdk.CfnResource, cdk.RemovalPolicy] = {}
        if config.search_service_linked_role:
            role = self._service_linked_role()
            self.domain.node.add_dependency(role)
            # A retained domain still uses the role, and IAM refuses to delete a role in use.
            retained[role] = cdk.RemovalPolicy.RETAIN
        provisioning.add_environment("OPENSEARCH_URL", f"https://{self.domain.domain_endpoint}")
        self.allow(self.provisioning_role)
        self._provision(config, provisioning, engine_layer=function_layers[0])
        cdk.CfnOutput(self, "DomainEndpoint", value=self.domain.domain_endpoint)
        cdk.CfnOutput(self, "ProvisioningRoleArn", value=self.provisioning_role.role_arn, description="FGAC master")
        domain_resource = self.domain.node.default_child
        assert isinstance(domain_resource, opensearch.CfnDomain)
        # OpenSearch takes no snapshot on deletion that CloudFormation could ask for: the domain itself is kept.
        retained[domain_resource] = cdk.RemovalPolicy.RETAIN
        protect_data(self, config, retained)

    def allow(self, role: iam.IRole) -> None:
        """Let ``role`` call the domain's REST API (IAM side; FGAC still decides what it may do: docs/deploy.md)."""
        resource = f"{self.domain_arn}/*"
        role.add_to_principal_policy(iam.PolicyStatement(actions=HTTP_ACTIONS, resources=[resource]))
        nag.acknowledge_wildcard_resource(role, resource, _HTTP_REASON)

    def _service_linked_role(self) -> iam.CfnServiceLinkedRole:
        """AWSServiceRoleForAmazonOpenSearchService: OpenSearch creates a VPC domain's network interfaces through
        it, and creating the domain fails until the account has it (once per account: an account that has it
        sets ``search-service-linked-role=false``)."""
        return iam.CfnServiceLinkedRole(
            self,
            "ServiceLinkedRole",
            aws_service_name="opensearchservice.amazonaws.com",
            description="riskengine: OpenSearch Service VPC access (ENIs of the search domain)",
        )

    def _domain(self, config: DeploymentConfig, network: NetworkStack, master_user_arn: str) -> opensearch.Domain:
        subnets = self._subnets(config, network)
        logging, logs_policy = self._logging(config)
        domain = opensearch.Domain(
            self,
            "Domain",
            domain_name=self._domain_name,
            version=ENGINE_VERSION,
            capacity=opensearch.CapacityConfig(
                data_nodes=config.search_instance_count,
                data_node_instance_type=config.search_instance_type,
                master_nodes=config.search_master_nodes,
                master_node_instance_type=config.search_master_instance_type,
                # Standby needs a multiple of three copies of every index; the templates ask for replicas + 1.
                multi_az_with_standby_enabled=False,
            ),
            ebs=opensearch.EbsOptions(volume_size=config.search_volume_gb, volume_type=ec2.EbsDeviceVolumeType.GP3),
            zone_awareness=opensearch.ZoneAwarenessConfig(enabled=True, availability_zone_count=len(subnets)),
            vpc=network.vpc,
            vpc_subnets=[ec2.SubnetSelection(subnets=subnets)],
            security_groups=[network.search_sg],
            encryption_at_rest=opensearch.EncryptionAtRestOptions(enabled=True),
            node_to_node_encryption=True,
            enforce_https=True,
            tls_security_policy=opensearch.TLSSecurityPolicy.TLS_1_2_PFS,
            fine_grained_access_control=opensearch.AdvancedSecurityOptions(master_user_arn=master_user_arn),
            logging=logging,
            suppress_logs_resource_policy=True,  # ours below: a plain resource, not a custom resource with Resource *
        )
        domain.node.add_dependency(logs_policy)  # OpenSearch checks it may write the logs when it creates the domain
        self._set_access_policy(config, domain, master_user_arn)
        if config.search_master_nodes == 0:
            nag.acknowledge(
                domain, "OS4", "context search-master-nodes is 0: data nodes also act as masters (small domains)"
            )
        return domain

    def _subnets(self, config: DeploymentConfig, network: NetworkStack) -> list[ec2.ISubnet]:
        """One private subnet per AZ used: three when the VPC has them, else two (OpenSearch's choices)."""
        private = network.vpc.select_subnets(subnet_type=PRIVATE_SUBNETS, one_per_az=True).subnets
        subnets = private[:3]
        if len(subnets) < 2:
            raise ContextError("the search domain needs private subnets in at least two AZs (context max-azs >= 2)")
        if len(subnets) == 2 and config.search_instance_count % 2:
            message = (
                f"search-instance-count {config.search_instance_count} is odd but the VPC offers two AZs: "
                "OpenSearch needs an even number of data nodes over two AZs"
            )
            if cdk.Token.is_unresolved(self.account) or cdk.Token.is_unresolved(self.region):
                # No account or no region (a synth without credentials): two placeholder AZs, not the real ones.
                cdk.Annotations.of(self).add_warning_v2("riskengine:SearchAzCount", message)
            else:
                raise ContextError(message)
        return subnets

    def _logging(self, config: DeploymentConfig) -> tuple[opensearch.LoggingOptions, logs.ResourcePolicy]:
        """Slow search, slow indexing, application and audit logs, each in its own group, and the policy that
        lets this domain (and only it) write them."""
        groups = {name: log_group(self, f"{name}Logs", config) for name in ("SlowSearch", "SlowIndex", "App", "Audit")}
        # Who read and changed the compliance record is part of it: the audit log lives as long as the indices.
        audit = groups["Audit"].node.default_child
        assert isinstance(audit, logs.CfnLogGroup)
        audit.retention_in_days = audit_log_retention_days(config)
        policy = logs.ResourcePolicy(
            self,
            "LogsPolicy",
            policy_statements=[
                iam.PolicyStatement(
                    principals=[iam.ServicePrincipal("es.amazonaws.com")],
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[group.log_group_arn for group in groups.values()],
                    conditions={
                        "StringEquals": {"aws:SourceAccount": self.account},
                        "ArnLike": {"aws:SourceArn": self.domain_arn},
                    },
                )
            ],
        )
        options = opensearch.LoggingOptions(
            slow_search_log_enabled=True,
            slow_search_log_group=groups["SlowSearch"],
            slow_index_log_enabled=True,
            slow_index_log_group=groups["SlowIndex"],
            app_log_enabled=True,
            app_log_group=groups["App"],
            audit_log_enabled=True,
            audit_log_group=groups["Audit"],
        )
        return options, policy

    def _set_access_policy(self, config: DeploymentConfig, domain: opensearch.Domain, master_user_arn: str) -> None:
        """The roles that use the domain, on this domain only; set on the resource itself (``access_policies``
        would add a custom resource that updates the domain after creation).

        The roles are matched by ``aws:PrincipalArn`` under this account's principal rather than listed as
        principals: the function roles do not exist yet when this stack creates the domain (the functions stack
        comes later), and a resource policy that names a role as principal is pinned to that role's unique id, so
        a role recreated under the same name would silently lose access.
        """
        allowed = [master_user_arn, *(self._role_arn(config.function_role_name(f)) for f in DOMAIN_USERS)]
        if config.search_admin_role_arn:
            allowed.append(config.search_admin_role_arn)
        policy = iam.PolicyDocument(
            statements=[
                iam.PolicyStatement(
                    principals=[iam.AccountRootPrincipal()],
                    actions=HTTP_ACTIONS,
                    resources=[f"{self.domain_arn}/*"],
                    conditions={"ArnEquals": {"aws:PrincipalArn": allowed}},
                )
            ]
        )
        resource = domain.node.default_child
        assert isinstance(resource, opensearch.CfnDomain)
        resource.access_policies = policy.to_json()
        nag.acknowledge(
            domain,
            "OS3",
            "a VPC-only domain has no public address to allowlist: the network path is search_sg (HTTPS from "
            "its clients' groups only), and every request must be SigV4-signed by an IAM principal FGAC maps",
        )

    def _provisioning_function(
        self,
        config: DeploymentConfig,
        network: NetworkStack,
        layers: LayersStack,
        function_layers: list[lambda_.ILayerVersion],
    ) -> lambda_.Function:
        function = lambda_.Function(
            self,
            "ProvisionSearch",
            description="riskengine: index templates, aliases, ISM retention on the domain (custom resource)",
            runtime=layers.runtime,
            architecture=layers.architecture,
            handler="handler.on_event",
            code=lambda_.Code.from_asset(str(FUNCTIONS_DIR / "provision_search")),
            layers=function_layers,
            timeout=cdk.Duration.minutes(5),
            memory_size=512,
            environment={"OPENSEARCH_AUTH": "sigv4", "POWERTOOLS_TRACE_DISABLED": "true"},
            log_group=log_group(self, "ProvisionSearchLogs", config),
            **network.function_placement("provision_search"),
        )
        nag.acknowledge_vpc_function(function)
        return function

    def _role_mappings(self, config: DeploymentConfig) -> dict[str, list[str]]:
        """FGAC roles (riskengine/search/access.py) -> the IAM roles of the functions that need them.

        The ARNs are built from the functions' fixed role names: the functions stack depends on this one, so
        this one cannot take their roles' attributes.
        """
        writer, reader = DOMAIN_USERS
        mappings = {
            "riskengine_writer": [self._role_arn(config.function_role_name(writer))],
            "riskengine_reader": [self._role_arn(config.function_role_name(reader))],
        }
        if config.search_admin_role_arn:
            mappings["all_access"] = [config.search_admin_role_arn]
        return mappings

    def _role_arn(self, name: str) -> str:
        return self.format_arn(
            service="iam", region="", resource="role", resource_name=name, arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME
        )

    def _provision(
        self, config: DeploymentConfig, function: lambda_.Function, *, engine_layer: lambda_.ILayerVersion
    ) -> None:
        provider = cr.Provider(
            self, "SearchProvider", on_event_handler=function, log_group=log_group(self, "SearchProviderLogs", config)
        )
        nag.acknowledge_provider(provider, function)
        cdk.CustomResource(
            self,
            "SearchProvisioning",
            service_token=provider.service_token,
            resource_type="Custom::SearchProvisioning",
            properties={
                "shards": config.search_shards,
                "replicas": config.search_replicas,
                "retentionDays": config.search_retention_days,
                # A new engine layer may carry new mappings: changing this property re-runs provisioning.
                "engineLayer": engine_layer.layer_version_arn,
                "roleMappings": self._role_mappings(config),
            },
        )
