"""CloudFormation custom resource (the CDK Provider framework's ``on_event``): create and update the Kafka topics.

A thin adapter over ``riskengine.provisioning.topics``. Create and Update make the cluster's topics match
the resource's properties: ``bootstrapServers`` and ``topics`` (a list of ``{"name", "partitions",
"retentionMs"}``; CloudFormation sends the numbers as strings). Missing topics are created, partition counts
raised (never lowered) and ``retention.ms`` set. The security settings come from the function's environment
(``KAFKA_SECURITY_PROTOCOL``, ``KAFKA_SASL_MECHANISM``, as for the other functions). Delete keeps the topics:
they hold trades, results and dead letters that a stack deletion must not erase.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from riskengine.errors import ConfigurationError
from riskengine.observability import powertools
from riskengine.provisioning import admin_client, provision_topics, specs_from_resource_properties
from riskengine.provisioning.custom_resource import provisions
from riskengine.settings import Settings

logger, _metrics, tracer = powertools("provision-topics")

PHYSICAL_RESOURCE_ID = "riskengine-kafka-topics"


@tracer.capture_lambda_handler(capture_response=False)
@logger.inject_lambda_context
def on_event(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.info("custom resource request", extra={"request_type": event.get("RequestType")})
    if not provisions(event):
        return {"PhysicalResourceId": event["PhysicalResourceId"]}
    properties = event.get("ResourceProperties", {})
    bootstrap_servers = str(properties.get("bootstrapServers") or "")
    if not bootstrap_servers:
        raise ConfigurationError("custom resource property bootstrapServers is required")
    specs = specs_from_resource_properties(properties)
    kafka = dataclasses.replace(Settings.from_env().kafka, bootstrap_servers=bootstrap_servers)
    with admin_client(kafka) as admin:
        report = provision_topics(admin, specs)
    logger.info("topics provisioned", extra={"topics": [dataclasses.asdict(result) for result in report.results]})
    # Update keeps the id: a new one would make CloudFormation send a Delete for the old, which is a no-op anyway.
    return {"PhysicalResourceId": event.get("PhysicalResourceId") or PHYSICAL_RESOURCE_ID, "Data": report.as_data()}
