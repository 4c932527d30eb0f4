"""CloudFormation custom resource (the CDK Provider framework's ``on_event``): provision OpenSearch.

A thin adapter. Create and Update run the same idempotent provisioning as ``riskengine search
init`` with the resource's properties (shards, replicas, retentionDays, dashboardsUrl; CloudFormation
sends them as strings). Delete leaves templates, indices and the retention policy in place: they
hold the compliance record, and a stack deletion must never erase it.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from riskengine.observability import powertools
from riskengine.provisioning.custom_resource import provisions
from riskengine.search import SearchConfig, default_client
from riskengine.search.dashboards import dashboards_auth
from riskengine.search.provision import ProvisionOptions, physical_resource_id, provision

logger, _metrics, tracer = powertools("provision-search")


@tracer.capture_lambda_handler(capture_response=False)
@logger.inject_lambda_context
def on_event(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.info("custom resource request", extra={"request_type": event.get("RequestType")})
    if not provisions(event):
        return {"PhysicalResourceId": event["PhysicalResourceId"]}
    config = SearchConfig.from_env()
    options = ProvisionOptions.from_resource_properties(event.get("ResourceProperties", {}))
    report = provision(
        default_client(), options, dashboards_auth=dashboards_auth(config), verify_certs=config.verify_certs
    )
    logger.info("provisioned", extra={"steps": report.as_data()})
    report.raise_for_failures()  # CloudFormation shows the message and rolls back
    return {"PhysicalResourceId": physical_resource_id(config.url), "Data": report.as_data()}
