"""The CDK app of the risk engine: one stack per concern, configured from CDK context (see docs/deploy.md)."""
