"""Options several commands share, declared once so their names and help never drift apart."""

from typing import Annotated

import typer

RedisUrl = Annotated[str | None, typer.Option(help="Use this Redis instead of an embedded one.")]
BootstrapServers = Annotated[
    str | None,
    typer.Option(help="Use this Kafka (host:port,...) instead of an embedded broker; missing topics are created."),
]
OpenSearchUrl = Annotated[
    str | None, typer.Option(help="Use this OpenSearch (http://host:port) instead of an embedded compatible server.")
]
