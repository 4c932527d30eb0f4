"""OpenSearch: index families and mappings, documents, the client factory and bulk indexing."""

from riskengine.search.client import create_client, default_client
from riskengine.search.config import SearchAuth, SearchConfig
from riskengine.search.documents import alert_document, analyzed_trade_document
from riskengine.search.indices import ACKNOWLEDGEMENTS, ALERTS, ANALYZED_TRADES, FAMILIES, TEMPLATE_VERSION, IndexFamily

__all__ = [
    "ACKNOWLEDGEMENTS",
    "ALERTS",
    "ANALYZED_TRADES",
    "FAMILIES",
    "TEMPLATE_VERSION",
    "IndexFamily",
    "SearchAuth",
    "SearchConfig",
    "alert_document",
    "analyzed_trade_document",
    "create_client",
    "default_client",
]
