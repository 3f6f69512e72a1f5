-- 0005_rate_limits (up): request counts of the rate limits (RATE_LIMIT_ANON,
-- RATE_LIMIT_USER), shared by every server: one row per scope, key (client address
-- or user id) and fixed window.
-- Each server counts in memory and adds its share here every RATE_LIMIT_SYNC_MS
-- (core/ratelimit.h). Unlogged: counts of a window of at most a day are not worth
-- WAL, and losing them in a crash only hands out a fresh window.
--
-- Run by the migration runner inside a single transaction: no BEGIN/COMMIT here.

CREATE UNLOGGED TABLE rate_limit_counts (
    scope text NOT NULL CHECK (scope IN ('anon', 'user')),
    key text NOT NULL,
    window_start bigint NOT NULL, -- Unix seconds, a multiple of the window's length
    window_end bigint NOT NULL,
    hits bigint NOT NULL CHECK (hits >= 0),
    PRIMARY KEY (scope, key, window_start)
);
