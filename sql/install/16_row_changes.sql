-- Whether an update changed a row in no column but the ones named: the
-- test of the WHEN clauses that let one narrow change pass without a
-- trigger call (a callback's ACTIVE -> LIVE flip, a dial's closing). In C
-- (src/row_changes.c): the same test written in SQL names every other
-- column twice, is read anew by each statement, and misses a column added
-- later; this one compares every column the table has.
CREATE OR REPLACE FUNCTION vicidial._changed_only(old_row record, new_row record, columns text[])
RETURNS boolean
LANGUAGE c IMMUTABLE STRICT AS 'MODULE_PATHNAME', 'vicidial_changed_only';
