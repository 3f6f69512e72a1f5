-- 0002_list_counts: exact row counts of the two big public lists, kept by
-- triggers, so a list page reads its "count" from one row instead of counting
-- the whole table on every request (the cost that grew with the data).
-- Runs in one transaction with its bookkeeping: no BEGIN/COMMIT here.

CREATE TABLE row_counts (
    name text   PRIMARY KEY,
    n    bigint NOT NULL CHECK (n >= 0)
);

INSERT INTO row_counts (name, n)
SELECT 'projects', count(*) FROM projects
UNION ALL
SELECT 'profiles', count(*) FROM profiles;

-- Statement-level with transition tables: one UPDATE per statement, however
-- many rows it inserted or deleted (seeding, cascades of an account deletion).
-- TRUNCATE is not counted: never truncate these tables outside a migration.
CREATE FUNCTION row_counts_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE row_counts SET n = n + (SELECT count(*) FROM changed_rows)
         WHERE name = TG_TABLE_NAME;
    ELSE
        UPDATE row_counts SET n = n - (SELECT count(*) FROM changed_rows)
         WHERE name = TG_TABLE_NAME;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER projects_count_insert AFTER INSERT ON projects
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION row_counts_bump();
CREATE TRIGGER projects_count_delete AFTER DELETE ON projects
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION row_counts_bump();
CREATE TRIGGER profiles_count_insert AFTER INSERT ON profiles
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION row_counts_bump();
CREATE TRIGGER profiles_count_delete AFTER DELETE ON profiles
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION row_counts_bump();
