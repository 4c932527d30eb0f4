"""The SNS topics people subscribe to: risk alerts (``alert-emails``) and operations alarms (``ops-emails``).

Both are encrypted with a customer-managed KMS key (an AWS-managed SNS key cannot be opened to CloudWatch,
which publishes the alarms) and refuse publishers that do not use TLS. Alert e-mails carry the filter policy
``{"severity": ["HIGH", "CRITICAL"]}`` on the ``severity`` attribute dispatch_alerts sets (docs/alerting.md);
other subscribers (queues, webhooks) subscribe without it and get everything. With context ``alerts-queue``
the stack also subscribes an SQS queue through that same filter, raw delivery: what the e-mails would get,
readable by a program (``make localstack-check`` tests the filter through it).
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from riskengine_infra import nag
from riskengine_infra.config import DeploymentConfig

__all__ = ["EMAIL_SEVERITIES", "AlertingStack"]

EMAIL_SEVERITIES = ("HIGH", "CRITICAL")
CLOUDWATCH = iam.ServicePrincipal("cloudwatch.amazonaws.com")


class AlertingStack(cdk.Stack):
    """``alerts_topic`` (risk alerts, severity-filtered e-mail) and ``ops_topic`` (alarms).

    ``alerts_queue`` is the optional severity-filtered SQS subscriber (context ``alerts-queue``), else None.
    """

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
        self.alerts_queue = self._alerts_queue(config, severity) if config.alerts_queue else None
        # Where tools find what this deployment created (make localstack-check reads them), without copying names.
        cdk.CfnOutput(self, "AlertsTopicArn", value=self.alerts_topic.topic_arn)
        if self.alerts_queue is not None:
            cdk.CfnOutput(self, "AlertsQueueUrl", value=self.alerts_queue.queue_url)
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

    def _alerts_queue(self, config: DeploymentConfig, severity: sns.SubscriptionFilter) -> sqs.Queue:
        """The e-mails' filter, delivered raw to a queue under the topics' key (SNS gets the key use it needs)."""
        queue = sqs.Queue(
            self,
            "AlertsQueue",
            queue_name=f"{config.prefix}-alerts-queue",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.key,
            enforce_ssl=True,
            retention_period=cdk.Duration.days(14),
        )
        nag.acknowledge(
            queue,
            "SQS3",
            "the queue is itself the end of the line for its reader (a check or an integration): a message it "
            "cannot handle stays here for 14 days, and the alerts stay in risk-alerts and OpenSearch",
        )
        self.alerts_topic.add_subscription(
            subscriptions.SqsSubscription(queue, raw_message_delivery=True, filter_policy={"severity": severity})
        )
        return queue

    def _topic(self, construct_id: str, name: str, display_name: str) -> sns.Topic:
        return sns.Topic(
            self, construct_id, topic_name=name, display_name=display_name, master_key=self.key, enforce_ssl=True
        )
