-- Daily revenue by product category (Trino/Athena dialect; runs on Spark SQL and DuckDB via sqlglot).
-- Cancelled orders earn nothing; revenue is quantity × unit price of each order line.
WITH
order_lines AS (  -- import
    SELECT order_id, product_id, quantity, unit_price, status, dt
    FROM ecommerce_silver.order_items
),
products AS (  -- import
    SELECT product_id, category
    FROM ecommerce_silver.products
),
billable_lines AS (  -- logical
    SELECT
        l.dt,
        COALESCE(p.category, 'unknown') AS category,
        l.order_id,
        l.quantity,
        CAST(l.quantity * l.unit_price AS DECIMAL(18, 2)) AS line_revenue
    FROM order_lines AS l
    LEFT JOIN products AS p ON p.product_id = l.product_id
    WHERE l.status <> 'cancelled'
),
final AS (
    SELECT
        dt,
        category,
        CAST(SUM(line_revenue) AS DECIMAL(18, 2)) AS revenue,
        CAST(SUM(quantity) AS BIGINT) AS units,
        COUNT(DISTINCT order_id) AS orders
    FROM billable_lines
    GROUP BY dt, category
)
SELECT * FROM final
ORDER BY dt, category
