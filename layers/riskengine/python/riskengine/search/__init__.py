"""OpenSearch: index families and mappings, documents, the client factory and bulk indexing."""

from riskengine.search.bulk import BulkIndexer, BulkResult, IndexAction, Rejection, is_transient
from riskengine.search.categories import ORDER_BOOK_PATTERNS, AlertCategory, alert_category
from riskengine.search.client import create_client, default_client
from riskengine.search.config import SearchAuth, SearchConfig
from riskengine.search.dashboards import DashboardsImportError, import_saved_objects, load_saved_objects
from riskengine.search.documents import alert_document, analyzed_trade_document
from riskengine.search.indexing import IndexingOutcome, Route, SearchIndexer, default_search_indexer, routes
from riskengine.search.indices import (
    ACKNOWLEDGEMENTS,
    ALERTS,
    ANALYZED_TRADES,
    FAMILIES,
    ORDER_BOOK_METRICS,
    TEMPLATE_VERSION,
    IndexFamily,
)
from riskengine.search.provision import ProvisionOptions, ProvisionReport, provision

__all__ = [
    "ACKNOWLEDGEMENTS",
    "ALERTS",
    "ANALYZED_TRADES",
    "FAMILIES",
    "ORDER_BOOK_METRICS",
    "ORDER_BOOK_PATTERNS",
    "TEMPLATE_VERSION",
    "AlertCategory",
    "BulkIndexer",
    "BulkResult",
    "DashboardsImportError",
    "IndexAction",
    "IndexFamily",
    "IndexingOutcome",
    "ProvisionOptions",
    "ProvisionReport",
    "Rejection",
    "Route",
    "SearchAuth",
    "SearchConfig",
    "SearchIndexer",
    "alert_category",
    "alert_document",
    "analyzed_trade_document",
    "create_client",
    "default_client",
    "default_search_indexer",
    "import_saved_objects",
    "is_transient",
    "load_saved_objects",
    "provision",
    "routes",
]
