-- 0005_rate_limits (down): the shared rate-limit counts go; servers of an
-- older version never read them.
--
-- Run by the migration runner inside a single transaction: no BEGIN/COMMIT here.

DROP TABLE rate_limit_counts;
