"""Constants of the infrastructure tests (importable: tests/infra is on sys.path through its conftest)."""

# No layer is built while testing: bundling is skipped and asset hashes become placeholders.
TEST_CONTEXT = {"aws:cdk:bundling-stacks": []}
TEST_ACCOUNT, TEST_REGION = "123456789012", "eu-west-1"
