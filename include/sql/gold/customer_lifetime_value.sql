-- Customer lifetime value: every customer, with the orders and revenue they brought.
-- Customers without a (non-cancelled) order appear with 0 orders and 0.00 value.
WITH
customers AS (  -- import
    SELECT customer_id, email, country
    FROM ecommerce_silver.customers
),
order_lines AS (  -- import
    SELECT order_id, quantity, unit_price, status
    FROM ecommerce_silver.order_items
),
orders AS (  -- import
    SELECT order_id, customer_id, status, dt
    FROM ecommerce_silver.orders
),
order_values AS (  -- logical
    SELECT o.order_id, o.customer_id, o.dt, CAST(SUM(l.quantity * l.unit_price) AS DECIMAL(18, 2)) AS order_value
    FROM orders AS o
    JOIN order_lines AS l ON l.order_id = o.order_id
    WHERE o.status <> 'cancelled'
    GROUP BY o.order_id, o.customer_id, o.dt
),
per_customer AS (  -- logical
    SELECT
        customer_id,
        COUNT(*) AS orders,
        CAST(SUM(order_value) AS DECIMAL(18, 2)) AS lifetime_value,
        MIN(dt) AS first_order_date,
        MAX(dt) AS last_order_date
    FROM order_values
    GROUP BY customer_id
),
final AS (
    SELECT
        c.customer_id,
        c.email,
        c.country,
        COALESCE(p.orders, 0) AS orders,
        COALESCE(p.lifetime_value, CAST(0 AS DECIMAL(18, 2))) AS lifetime_value,
        p.first_order_date,
        p.last_order_date
    FROM customers AS c
    LEFT JOIN per_customer AS p ON p.customer_id = c.customer_id
)
SELECT * FROM final
ORDER BY customer_id
