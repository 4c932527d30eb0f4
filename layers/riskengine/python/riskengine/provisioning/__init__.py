"""Deployment-time provisioning of the engine's Kafka topics (CloudFormation custom resources call it).

The OpenSearch side lives with the rest of the search code, in ``riskengine.search.provision``.
"""

from riskengine.provisioning.topics import (
    TopicOutcome,
    TopicProvisioningFailed,
    TopicResult,
    TopicSpec,
    TopicsReport,
    admin_client,
    provision_topics,
    specs_from_resource_properties,
)

__all__ = [
    "TopicOutcome",
    "TopicProvisioningFailed",
    "TopicResult",
    "TopicSpec",
    "TopicsReport",
    "admin_client",
    "provision_topics",
    "specs_from_resource_properties",
]
