-- Install the extension and the helpers every later regression file uses.
CREATE EXTENSION vicidial_callbacks;
\dx vicidial_callbacks
-- pg_dump keeps every table's rows and every sequence's position.
SELECT unnest(extconfig)::regclass AS dumped_with_data FROM pg_extension
 WHERE extname = 'vicidial_callbacks';
-- Nothing is open to PUBLIC.
SELECT p.proname FROM pg_proc p
 WHERE p.pronamespace = 'vicidial'::regnamespace AND has_function_privilege('public', p.oid, 'EXECUTE');
-- Every function pins its search_path, but _digits and _limit_24h, which
-- name the schema of everything they use so that the planner can inline
-- them.
SELECT p.proname FROM pg_proc p
 WHERE p.pronamespace = 'vicidial'::regnamespace
   AND NOT coalesce(p.proconfig, '{}') @> ARRAY['search_path=pg_catalog, pg_temp']
   AND p.oid NOT IN ('vicidial._digits(text)'::regprocedure, 'vicidial._limit_24h(bigint, integer, timestamptz)'::regprocedure);

CREATE SCHEMA regress;

-- A digest of every row of every table: equal before and after means
-- nothing changed.
CREATE FUNCTION regress.state() RETURNS text LANGUAGE sql AS $$
    SELECT md5(concat_ws('|',
        (SELECT string_agg(t::text, ',' ORDER BY t."user") FROM vicidial.vicidial_users t),
        (SELECT string_agg(t::text, ',' ORDER BY t.campaign_id) FROM vicidial.vicidial_campaigns t),
        (SELECT string_agg(t::text, ',' ORDER BY t.list_id) FROM vicidial.vicidial_lists t),
        (SELECT string_agg(t::text, ',' ORDER BY t.lead_id) FROM vicidial.vicidial_list t),
        (SELECT string_agg(t::text, ',' ORDER BY t.hopper_id) FROM vicidial.vicidial_hopper t),
        (SELECT string_agg(t::text, ',' ORDER BY t.callback_id) FROM vicidial.vicidial_callbacks t)))
$$;

-- Run one statement with every deferred check made immediate. Returns "ok",
-- or the SQLSTATE and message (timestamps masked, in any DateStyle). That a
-- failed call changes nothing is PostgreSQL's to guarantee (the statement's
-- subtransaction is rolled back whatever it wrote), so it is not checked
-- here, where it could not fail; what a function could get wrong is to
-- catch its own error and carry on, which shows as "ok" where a refusal is
-- expected.
CREATE FUNCTION regress.attempt(statement text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    SET CONSTRAINTS ALL IMMEDIATE;
    BEGIN
        EXECUTE statement;
    EXCEPTION WHEN OTHERS THEN
        RETURN SQLSTATE || ': '
            || regexp_replace(SQLERRM, '(\w{3} \w{3} \d\d |\d{4}-\d\d-\d\d )\d\d:\d\d:\d\d[^ ]*( \d{4})?( [A-Z]{2,5})?', '<time>', 'g');
    END;
    RETURN 'ok';
END $$;

-- A small call center shared by the regression files: each file adds its
-- own campaigns and leads beside it.
INSERT INTO vicidial.vicidial_users ("user", full_name, agentonly_callbacks, active) VALUES
    ('agent1', 'Ann Agent', true, true),
    ('agent2', 'Bob Agent', false, true),
    ('agent3', 'Cat Agent', true, true),
    ('retired', 'Old Agent', true, false);
