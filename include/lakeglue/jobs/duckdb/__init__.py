"""DuckDB implementations of the bronze, silver and gold transforms (single-node "Python shell" jobs).

They read the same spec, claim the same ledger entries, commit through the same versioned
directories and register the same catalog schemas as ``jobs.spark``, so a job can move
between engines by changing one word in the spec (``engines:``) and readers never notice.
"""
