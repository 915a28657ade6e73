-- Whether an update changed no column of a row but those named
-- (src/row_changes.c): the WHEN clause of the row guards that let a
-- routine write through unchecked. Every column is compared, those added
-- later too, and the clause stays short: PostgreSQL reads a WHEN clause's
-- text again for every statement that fires its trigger. Evaluated as the
-- writer, so open to all (90_privileges.sql); it reads nothing. No
-- pinned search_path: it looks nothing up by name, and a SET clause would
-- cost every row a sweep flips a save and a restore of the setting.
CREATE OR REPLACE FUNCTION vicidial._changed_only(old_row record, new_row record, columns text[]) RETURNS boolean
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'vicidial_changed_only';
