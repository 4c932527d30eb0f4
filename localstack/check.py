"""Deploy the stacks LocalStack's free edition can create from the CDK app, and check the alert fan-out on them.

    .venv/bin/python localstack/check.py [--port N] [--keep]        (make localstack-check)

1. Installs LocalStack's free runtime in its own Python 3.13 venv unless it is there (host.py).
2. Starts it on 127.0.0.1 (a free port unless --port), with its files in a private temp folder.
3. ``cdklocal bootstrap``, then ``cdklocal deploy --exclusively`` of the app's standalone stacks, built alone
   (``-c stacks=alerting,configuration``), with the alerting stack's optional SQS subscriber
   (``-c alerts-queue=true``): the app's own topic, filter policy and SSM parameters, nothing copied.
4. Runs ``functions/dispatch_alerts``'s real handler in this process, on a real redis-server, with an MSK trigger
   event of Avro-encoded RiskAlerts of every severity, publishing to the deployed topic; then checks that the
   queue receives exactly the HIGH and CRITICAL alerts (by alert id, each once), and that the SSM parameters
   hold what the app's configuration says.
5. Stops LocalStack and redis-server, also when something failed.

Exit status 0 when every check passed; otherwise 1 with what differed, and LocalStack's log tail when it is at
fault. The CDK CLI and aws-cdk-local versions are the Makefile's pins (CDK_CLI, CDKLOCAL).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from deploy import app_config as deploy_app_config
from host import DEFAULT_VENV, LocalStack, LocalStackError, free_port, install

from riskengine.codec import ALERTS_SUBJECT, AvroCodec, FixedIdRegistry
from riskengine.model import RiskLevel, SourceRecord
from riskengine.msk import build_event
from riskengine.settings import Settings
from riskengine_tools.local import EmbeddedRedis
from riskengine_tools.local.bridge import load_handler
from riskengine_tools.local.environment import handler_environment
from riskengine_tools.local.paths import function_handler

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "infra"))  # the CDK app's package, as deploy.py reaches it

from riskengine_infra.config import DeploymentConfig  # noqa: E402
from riskengine_infra.topics import Topics, topic_settings  # noqa: E402

__all__ = [
    "CONTEXT",
    "Timings",
    "alert_records",
    "app_config",
    "cdklocal_command",
    "check",
    "deploy",
    "main",
    "makefile_pin",
]

# What the app is asked to build here: its standalone stacks alone, with the queue that shows what the filter passes.
CONTEXT = {"stacks": "alerting,configuration", "alerts-queue": "true"}
ACCOUNT, REGION = "000000000000", "us-east-1"  # LocalStack's default account
CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test", "region_name": REGION}
PATTERNS = ("WASH_TRADING", "FLASH_CRASH", "LARGE_ORDER")
DELIVERY_TIMEOUT_S = 30.0  # SNS delivers to SQS asynchronously
QUIET_AFTER_S = 3.0  # after the expected messages arrived: how long nothing more may come
# What compliance must get (docs/alerting.md). Written out, not the app's EMAIL_SEVERITIES, so that a change of the
# app's filter fails this check instead of moving its expectation along.
WANTED_SEVERITIES = ("HIGH", "CRITICAL")


class CheckFailed(AssertionError):
    """The deployment does not do what the app says; the message shows what differed."""


@dataclass
class Timings:
    """Seconds per step, printed at the end (docs/localstack.md quotes them)."""

    steps: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        _log(f"{name}")
        try:
            yield
        finally:
            self.steps[name] = time.monotonic() - started

    def report(self) -> str:
        return ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.steps.items())


def makefile_pin(name: str) -> str:
    """``NAME := value`` of the Makefile, where the CLI versions are pinned once for every target."""
    found = re.search(rf"^{name}\s*:?=\s*(\S+)\s*$", (REPO / "Makefile").read_text(), re.MULTILINE)
    if not found:
        raise LocalStackError(f"the Makefile has no `{name} := package@version` line: restore it")
    return found.group(1)


def app_config() -> DeploymentConfig:
    """The app's configuration as ``cdk deploy`` with CONTEXT builds it: cdk.json's context, then ours."""
    return deploy_app_config(CONTEXT)


def cdklocal_command(*arguments: str) -> list[str]:
    """``cdklocal`` of the pinned aws-cdk-local, on the pinned CDK CLI (npx installs both on first use)."""
    return [
        "npx",
        "--yes",
        f"--package={makefile_pin('CDKLOCAL')}",
        f"--package={makefile_pin('CDK_CLI')}",
        "cdklocal",
        *arguments,
    ]


def deploy(localstack: LocalStack, config: DeploymentConfig, timings: Timings) -> None:
    """Bootstrap, then deploy exactly the standalone stacks (``--exclusively``: no dependency is pulled in)."""
    workdir = localstack.workdir
    # Dummy credentials and files of our own: the CLI never reads the user's AWS profile or credentials.
    env = os.environ | {
        "AWS_ENDPOINT_URL": localstack.endpoint_url,
        "AWS_ENDPOINT_URL_S3": localstack.endpoint_url,
        "AWS_S3_FORCE_PATH_STYLE": "1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(workdir / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(workdir / "aws-credentials"),
        "CDK_DEFAULT_ACCOUNT": ACCOUNT,
        "CDK_DEFAULT_REGION": REGION,
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    env.pop("AWS_PROFILE", None)
    env.pop("AWS_SESSION_TOKEN", None)
    context = [argument for key, value in CONTEXT.items() for argument in ("-c", f"{key}={value}")]
    common = ["--output", str(workdir / "cdk.out"), *context]
    stacks = [f"{config.prefix}-{name}" for name in CONTEXT["stacks"].split(",")]
    with timings.step("bootstrap"):
        _cdk(cdklocal_command("bootstrap", f"aws://{ACCOUNT}/{REGION}", *common), env, localstack)
    with timings.step("deploy"):
        _cdk(
            cdklocal_command("deploy", "--require-approval", "never", "--exclusively", *common, *stacks),
            env,
            localstack,
        )


def _cdk(command: list[str], env: Mapping[str, str], localstack: LocalStack) -> None:
    done = subprocess.run(command, cwd=REPO, env=dict(env), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        output = "\n".join((done.stdout + done.stderr).strip().splitlines()[-40:])
        log = localstack.log_tail()
        raise LocalStackError(f"`{' '.join(command)}` failed ({done.returncode}):\n{output}\n-- LocalStack log:\n{log}")


def alert_records(topic: str, partitions: int, run: str) -> tuple[list[SourceRecord], dict[str, str]]:
    """RiskAlerts of every severity and a few patterns, Avro-encoded as score_trades writes them to ``topic``,
    spread over its partitions; returns the records and alert id -> severity."""
    codec = AvroCodec(FixedIdRegistry())
    records, severities = [], {}
    for index, (severity, pattern) in enumerate((s, p) for s in RiskLevel for p in PATTERNS):
        alert_id = f"{run}-{index:02}"
        user = f"USER_{index:02}"
        alert = {
            "alertId": alert_id,
            "patternType": pattern,
            "rule": f"{pattern}@1",
            "timestamp": 1_763_900_000_000 + index,
            "detectedAt": 1_763_900_000_500 + index,
            "severity": severity.value,
            "userId": user,
            "customerId": "CUST_1001",
            "symbol": "BTC/USDT",
            "exchange": "BINANCE",
            "description": f"{pattern} by {user} on BTC/USDT@BINANCE (localstack check)",
            "recommendedAction": "Review.",
            "triggeredEvents": [f"T-{index}-1", f"T-{index}-2"],
            "metrics": {"ratio": 0.99, "ratioThreshold": 0.95},
            "acknowledged": False,
        }
        partition = index % partitions
        value = codec.encode(ALERTS_SUBJECT, alert)
        records.append(SourceRecord(topic, partition, index, alert["detectedAt"], user.encode(), value))
        severities[alert_id] = severity.value
    return records, severities


def check(localstack: LocalStack, config: DeploymentConfig, timings: Timings) -> None:
    aws = {
        name: boto3.client(
            name, endpoint_url=localstack.endpoint_url, config=Config(retries={"mode": "standard"}), **CREDENTIALS
        )
        for name in ("cloudformation", "sns", "sqs", "ssm")
    }
    with timings.step("check"):
        outputs = _outputs(aws["cloudformation"], f"{config.prefix}-alerting")
        topic_arn, queue_url = outputs["AlertsTopicArn"], outputs["AlertsQueueUrl"]
        _check_filter_policy(aws["sns"], topic_arn)
        _check_parameters(aws["ssm"], config)
        _check_dispatch(localstack, aws["sqs"], config, topic_arn, queue_url)


def _outputs(cloudformation: Any, stack: str) -> dict[str, str]:
    (description,) = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    return {output["OutputKey"]: output["OutputValue"] for output in description.get("Outputs", [])}


def _check_filter_policy(sns: Any, topic_arn: str) -> None:
    """The queue's subscription carries the app's filter: the one under test is the deployed one."""
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]
    policies = [
        json.loads(sns.get_subscription_attributes(SubscriptionArn=s["SubscriptionArn"])["Attributes"]["FilterPolicy"])
        for s in subscriptions
        if s["Protocol"] == "sqs"
    ]
    _expect("the queue's filter policy", policies, [{"severity": list(WANTED_SEVERITIES)}])


def _check_parameters(ssm: Any, config: DeploymentConfig) -> None:
    path = f"/{config.prefix}/configuration"
    found = {
        p["Name"].removeprefix(f"{path}/"): p["Value"] for p in ssm.get_parameters_by_path(Path=path)["Parameters"]
    }
    _expect("SSM parameter names", sorted(found), ["alert-severities", "rules", "topics"])
    _expect("SSM topics", json.loads(found["topics"]), topic_settings(config))
    _expect("SSM alert-severities", found["alert-severities"].split(","), list(WANTED_SEVERITIES))
    # The engine reads the rules as RISK_RULES_JSON: what was deployed must load there unchanged.
    _expect(
        "SSM rules", dict(Settings.from_env({"RISK_RULES_JSON": found["rules"]}).rules), json.loads(config.risk_rules)
    )


def _check_dispatch(localstack: LocalStack, sqs: Any, config: DeploymentConfig, topic_arn: str, queue_url: str) -> None:
    topics = Topics()
    records, severities = alert_records(topics.alerts, config.topic_partitions, uuid.uuid4().hex[:8])
    expected = sorted(alert_id for alert_id, severity in severities.items() if severity in WANTED_SEVERITIES)
    cluster = f"arn:aws:kafka:{REGION}:{ACCOUNT}:cluster/{config.prefix}/{uuid.uuid4()}-1"
    event = build_event(records, cluster_arn=cluster, bootstrap_servers="b-1.localstack.invalid:9098")
    with EmbeddedRedis() as redis_server:
        env = {
            "ALERTS_TOPIC_ARN": topic_arn,
            "ALERTS_DEAD_LETTER_TOPIC": topics.alerts_dlq,
            "DASHBOARD_URL": config.dashboard_url,
            "REDIS_URL": redis_server.url,
            "AWS_ENDPOINT_URL": localstack.endpoint_url,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": REGION,
        }
        with handler_environment(env):
            response = load_handler(function_handler("dispatch_alerts"))(event)
    _expect("dispatch_alerts' response", response, {"batchItemFailures": []})
    received = _drain(sqs, queue_url, len(expected))
    _expect("alert ids the queue received", sorted(alert_id for alert_id, _ in received), expected)
    _expect("severity attributes", sorted(received), sorted((alert_id, severities[alert_id]) for alert_id in expected))
    _log(f"{len(records)} alerts dispatched, the queue received exactly the {len(expected)} HIGH and CRITICAL ones")


def _drain(sqs: Any, queue_url: str, expected: int) -> list[tuple[str, str]]:
    """(alert id, severity attribute) of every message, until ``expected`` came and QUIET_AFTER_S passed quietly."""
    received: list[tuple[str, str]] = []
    deadline = time.monotonic() + DELIVERY_TIMEOUT_S
    quiet_until = None
    while time.monotonic() < (quiet_until or deadline):
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageAttributeNames=["All"]
        ).get("Messages", [])
        for message in messages:
            alert_id = message["Body"].split("Alert id: ")[1].split()[0]
            received.append((alert_id, message["MessageAttributes"]["severity"]["StringValue"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        if len(received) >= expected and quiet_until is None:
            quiet_until = time.monotonic() + QUIET_AFTER_S
    return received


def _expect(what: str, actual: Any, expected: Any) -> None:
    if actual != expected:
        raise CheckFailed(f"{what}: expected {expected!r}, got {actual!r}")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Install and start LocalStack (no Docker), deploy the CDK app's alerting and configuration "
        "stacks with cdklocal, run dispatch_alerts against them and check the filtered subscriber; always stops it.",
    )
    parser.add_argument("--port", type=int, default=0, help="LocalStack's port on 127.0.0.1 (default: a free one).")
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV, help="LocalStack's venv (default: %(default)s).")
    parser.add_argument("--python", help="The python3.13 to create it with (default: $LOCALSTACK_PYTHON, pyenv's).")
    parser.add_argument("--keep", action="store_true", help="Keep the work folder (LocalStack's log, cdk.out).")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # A CI timeout or `kill` sends SIGTERM: exit through the finally blocks, which stop LocalStack and redis-server.
    signal.signal(signal.SIGTERM, lambda number, _frame: sys.exit(128 + number))
    timings = Timings()
    workdir = Path(tempfile.mkdtemp(prefix="riskengine-localstack-"))
    try:
        config = app_config()
        with timings.step("install"):
            install(args.venv, args.python)
        localstack = LocalStack(workdir, args.port or free_port(), args.venv)
        try:
            with timings.step("start"):
                localstack.start()
            deploy(localstack, config, timings)
            check(localstack, config, timings)
        finally:
            with timings.step("stop"):
                localstack.stop()
    except (LocalStackError, CheckFailed) as exc:
        print(f"localstack check FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"work folder kept: {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"localstack check passed: {timings.report()}")
    return 0


def _log(message: str) -> None:
    print(f"-- {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
