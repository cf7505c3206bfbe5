-- Top product categories: total revenue over every day in gold, rank, and share of all revenue.
-- Trino/Athena dialect (runs on DuckDB via lakeglue.query). The share is computed in double and
-- rounded to a decimal(5,2) percentage so every engine prints the same number.
WITH
daily AS (  -- import
    SELECT dt, category, revenue, units, orders
    FROM ecommerce_gold.daily_revenue_by_category
),
per_category AS (  -- logical
    SELECT
        category,
        CAST(SUM(revenue) AS DECIMAL(18, 2)) AS revenue,
        CAST(SUM(units) AS BIGINT) AS units,
        CAST(SUM(orders) AS BIGINT) AS orders,
        COUNT(DISTINCT dt) AS days_active
    FROM daily
    GROUP BY category
),
final AS (
    SELECT
        RANK() OVER (ORDER BY revenue DESC) AS revenue_rank,
        category,
        revenue,
        CAST(
            ROUND(100 * CAST(revenue AS DOUBLE) / CAST(SUM(revenue) OVER () AS DOUBLE), 2) AS DECIMAL(5, 2)
        ) AS revenue_share_pct,
        units,
        orders,
        days_active
    FROM per_category
)
SELECT * FROM final
ORDER BY revenue_rank, category
