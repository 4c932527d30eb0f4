"""OpenSearch: index families and mappings, documents, the client factory and bulk indexing."""

from riskengine.search.bulk import BulkIndexer, BulkResult, IndexAction, Rejection, is_transient
from riskengine.search.client import create_client, default_client
from riskengine.search.config import SearchAuth, SearchConfig
from riskengine.search.documents import alert_document, analyzed_trade_document
from riskengine.search.indexing import IndexingOutcome, Route, SearchIndexer, default_search_indexer, routes
from riskengine.search.indices import ACKNOWLEDGEMENTS, ALERTS, ANALYZED_TRADES, FAMILIES, TEMPLATE_VERSION, IndexFamily

__all__ = [
    "ACKNOWLEDGEMENTS",
    "ALERTS",
    "ANALYZED_TRADES",
    "FAMILIES",
    "TEMPLATE_VERSION",
    "BulkIndexer",
    "BulkResult",
    "IndexAction",
    "IndexFamily",
    "IndexingOutcome",
    "Rejection",
    "Route",
    "SearchAuth",
    "SearchConfig",
    "SearchIndexer",
    "alert_document",
    "analyzed_trade_document",
    "create_client",
    "default_client",
    "default_search_indexer",
    "is_transient",
    "routes",
]
