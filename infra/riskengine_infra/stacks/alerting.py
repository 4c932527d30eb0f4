"""The SNS topics people subscribe to: risk alerts (``alert-emails``) and operations alarms (``ops-emails``).

Both are encrypted with a customer-managed KMS key (an AWS-managed SNS key cannot be opened to CloudWatch,
which publishes the alarms) and refuse publishers that do not use TLS. Alert e-mails carry the filter policy
``{"severity": ["HIGH", "CRITICAL"]}`` on the ``severity`` attribute dispatch_alerts sets (docs/alerting.md);
other subscribers (queues, webhooks) subscribe without it and get everything.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from riskengine_infra.config import DeploymentConfig

__all__ = ["EMAIL_SEVERITIES", "AlertingStack"]

EMAIL_SEVERITIES = ("HIGH", "CRITICAL")
CLOUDWATCH = iam.ServicePrincipal("cloudwatch.amazonaws.com")


class AlertingStack(cdk.Stack):
    """``alerts_topic`` (risk alerts, severity-filtered e-mail) and ``ops_topic`` (alarms)."""

    def __init__(self, scope: Construct, construct_id: str, *, config: DeploymentConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.key = kms.Key(self, "TopicKey", enable_key_rotation=True, description="riskengine: SNS topics")
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublishToEncryptedTopics",
                principals=[CLOUDWATCH],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy, "*" is this key
                conditions=self._alarms_of_this_account(),
            )
        )
        self.alerts_topic = self._topic("Alerts", f"{config.prefix}-alerts", "riskengine risk alerts")
        self.ops_topic = self._topic("Ops", f"{config.prefix}-ops", "riskengine operations")
        self.ops_topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsOfThisAccount",
                principals=[CLOUDWATCH],
                actions=["sns:Publish"],
                resources=[self.ops_topic.topic_arn],
                conditions=self._alarms_of_this_account(),
            )
        )
        severity = sns.SubscriptionFilter.string_filter(allowlist=list(EMAIL_SEVERITIES))
        for email in config.alert_emails:
            self.alerts_topic.add_subscription(
                subscriptions.EmailSubscription(email, filter_policy={"severity": severity})
            )
        for email in config.ops_emails:
            self.ops_topic.add_subscription(subscriptions.EmailSubscription(email))

    def _alarms_of_this_account(self) -> dict[str, dict[str, str]]:
        """The CloudWatch service acts for any account: only alarms of this account and region may use the grant
        (the confused-deputy conditions CloudWatch sets on its SNS and KMS requests)."""
        return {
            "StringEquals": {"aws:SourceAccount": self.account},
            "ArnLike": {
                "aws:SourceArn": self.format_arn(
                    service="cloudwatch",
                    resource="alarm",
                    resource_name="*",
                    arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                )
            },
        }

    def _topic(self, construct_id: str, name: str, display_name: str) -> sns.Topic:
        return sns.Topic(
            self, construct_id, topic_name=name, display_name=display_name, master_key=self.key, enforce_ssl=True
        )
