"""lakeglue pipeline ecommerce: Orders, customers and products of a web shop, from raw drops to daily revenue and
customer value.

Generated from include/pipelines/ecommerce.yml by `lakeglue dags generate`: edit the spec, not this file.
"""

# The dag processor imports the airflow modules a DAG file names once, before it forks one parser
# per file ([dag_processor] parsing_pre_import_modules): naming the Spark provider here keeps its import (and
# the OpenLineage listener it pulls in) out of every parse. lakeglue's operators build on SparkSubmitOperator.
import airflow.providers.apache.spark.operators.spark_submit  # noqa: F401

from lakeglue_airflow.factory import build_pipeline_dags

SPEC = {   'name': 'ecommerce',
    'description': 'Orders, customers and products of a web shop, from raw drops to daily revenue and '
                   'customer value.',
    'owner': 'data-eng',
    'tags': ['demo', 'ecommerce'],
    'schedule': '0 3 * * *',
    'retries': 1,
    'database': 'ecommerce',
    'source': {   'zone': 'raw',
                  'prefix': 'ecommerce',
                  'excludes': ['**/_SUCCESS', '**/_temporary/**', '**/*.crc', '**/.*']},
    'events': {   'enabled': True,
                  'mode': 'poll',
                  'poll_seconds': 1,
                  'quiet_seconds': 2,
                  'max_wait_seconds': 120,
                  'engines': {'silver': 'auto'}},
    'engines': {'bronze': 'duckdb', 'silver': 'spark', 'gold': 'duckdb'},
    'bronze': {   'customers': {'format': 'csv', 'options': {'header': 'true'}},
                  'orders': {'format': 'json'},
                  'products': {'format': 'parquet'}},
    'silver': {   'customers': {   'from': 'customers',
                                   'key': ['customer_id'],
                                   'order_by': ['_ingested_at'],
                                   'columns': {   'customer_id': {'type': 'bigint'},
                                                  'name': {'type': 'string', 'expr': 'trim(name)'},
                                                  'email': {   'type': 'string',
                                                               'expr': "nullif(lower(trim(email)), '')"},
                                                  'country': {   'type': 'string',
                                                                 'expr': "nullif(upper(trim(country)), '')"},
                                                  'signup_date': {'type': 'date'}}},
                  'orders': {   'from': 'orders',
                                'key': ['order_id'],
                                'order_by': ['updated_at'],
                                'partition_by': ['dt'],
                                'keep_new_columns': True,
                                'columns': {   'order_id': {'type': 'bigint'},
                                               'customer_id': {'type': 'bigint'},
                                               'order_ts': {'type': 'timestamp'},
                                               'updated_at': {'type': 'timestamp'},
                                               'status': {'type': 'string', 'expr': 'lower(trim(status))'},
                                               'channel': {'type': 'string'},
                                               'dt': {'type': 'date'}}},
                  'order_items': {   'from': 'orders',
                                     'explode': {'column': 'items', 'position': 'line_no'},
                                     'key': ['order_id', 'line_no'],
                                     'order_by': ['updated_at'],
                                     'partition_by': ['dt'],
                                     'columns': {   'order_id': {'type': 'bigint'},
                                                    'line_no': {'type': 'int'},
                                                    'product_id': {   'type': 'bigint',
                                                                      'expr': 'item.product_id'},
                                                    'quantity': {'type': 'int', 'expr': 'item.quantity'},
                                                    'unit_price': {   'type': 'decimal(12,2)',
                                                                      'expr': 'item.unit_price'},
                                                    'status': {   'type': 'string',
                                                                  'expr': 'lower(trim(status))'},
                                                    'updated_at': {'type': 'timestamp'},
                                                    'dt': {'type': 'date'}}},
                  'products': {   'from': 'products',
                                  'key': ['product_id'],
                                  'order_by': ['_ingested_at'],
                                  'columns': {   'product_id': {'type': 'bigint'},
                                                 'name': {'type': 'string', 'expr': 'trim(name)'},
                                                 'category': {   'type': 'string',
                                                                 'expr': 'lower(trim(category))'},
                                                 'list_price': {'type': 'decimal(12,2)'}}}},
    'quality': [   {'table': 'orders', 'suite': 'ecommerce_orders.yml'},
                   {'table': 'order_items', 'suite': 'ecommerce_order_items.yml'},
                   {'table': 'customers', 'suite': 'ecommerce_customers.yml'}],
    'gold': {   'daily_revenue_by_category': {'sql': 'gold/daily_revenue_by_category.sql'},
                'customer_lifetime_value': {'sql': 'gold/customer_lifetime_value.sql'}},
    'queries': [{'name': 'top_categories', 'sql': 'queries/top_categories.sql'}]}

globals().update(build_pipeline_dags(SPEC))
