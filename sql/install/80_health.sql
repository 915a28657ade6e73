-- A check a DBA runs after a restore, a bulk load or anything done with the
-- triggers off: every row that breaks an invariant, with the rule it breaks.
-- Empty means the tables hold I1, I2, I3, I9, I10 and I11, the last including
-- that every lead waiting in CBHOLD beside a LIVE ANYONE callback will be
-- released (it has its entry in the release queue).

CREATE OR REPLACE FUNCTION vicidial.invariant_violations()
RETURNS TABLE (invariant text, lead_id bigint, detail text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT 'I1', c.lead_id, count(*) || ' open callbacks'
      FROM vicidial.vicidial_callbacks c WHERE c.status IN ('ACTIVE', 'LIVE')
     GROUP BY c.lead_id HAVING count(*) > 1
    UNION ALL
    SELECT 'I2', l.lead_id, 'CBHOLD without an open callback'
      FROM vicidial.vicidial_list l
     WHERE l.status = 'CBHOLD'
       AND NOT EXISTS (SELECT 1 FROM vicidial.vicidial_callbacks c
                        WHERE c.lead_id = l.lead_id AND c.status IN ('ACTIVE', 'LIVE'))
    UNION ALL
    SELECT 'I2', l.lead_id, l.status || ' with ACTIVE callback ' || c.callback_id
      FROM vicidial.vicidial_list l JOIN vicidial.vicidial_callbacks c ON c.lead_id = l.lead_id
     WHERE c.status = 'ACTIVE' AND l.status NOT IN ('CBHOLD', 'INCALL')
    UNION ALL
    SELECT 'I9', c.lead_id, d.dnc_status || ' number with open callback ' || c.callback_id
      FROM vicidial.vicidial_callbacks c JOIN vicidial.lead_dnc d ON d.lead_id = c.lead_id
     WHERE c.status IN ('ACTIVE', 'LIVE') AND d.dnc_status IS NOT NULL
    UNION ALL
    -- I3 for CBHOLD, I10 for INCALL: never queued, never a dial status.
    SELECT CASE l.status WHEN 'CBHOLD' THEN 'I3' ELSE 'I10' END, h.lead_id, l.status || ' lead in the hopper'
      FROM vicidial.vicidial_hopper h JOIN vicidial.vicidial_list l ON l.lead_id = h.lead_id
     WHERE l.status IN ('CBHOLD', 'INCALL')
    UNION ALL
    SELECT CASE reserved.status WHEN 'CBHOLD' THEN 'I3' ELSE 'I10' END, NULL,
           'campaign ' || cp.campaign_id || ' dials ' || reserved.status
      FROM vicidial.vicidial_campaigns cp, unnest(ARRAY['CBHOLD', 'INCALL']) AS reserved(status)
     WHERE reserved.status = ANY (cp.dial_statuses)
    UNION ALL
    SELECT 'I11', l.lead_id, l.status || coalesce(' with ' || l."user", '') || ' under USERONLY callback '
                             || c.callback_id || ' of ' || c."user"
      FROM vicidial.vicidial_list l JOIN vicidial.vicidial_callbacks c ON c.lead_id = l.lead_id
     WHERE c.status IN ('ACTIVE', 'LIVE') AND c.recipient = 'USERONLY'
       AND l.status <> 'CBHOLD' AND NOT (l.status = 'INCALL' AND l."user" IS NOT DISTINCT FROM c."user")
    UNION ALL
    -- I11's second half: a lead held beside a LIVE ANYONE callback is
    -- released by a run, which must know of it.
    SELECT 'I11', l.lead_id, 'CBHOLD under LIVE ANYONE callback ' || c.callback_id || ' and never to be released'
      FROM vicidial.vicidial_list l JOIN vicidial.vicidial_callbacks c ON c.lead_id = l.lead_id
     WHERE c.status = 'LIVE' AND c.recipient = 'ANYONE' AND l.status = 'CBHOLD'
       AND NOT EXISTS (SELECT 1 FROM vicidial.callback_releases r WHERE r.lead_id = l.lead_id)
    ORDER BY 1, 2
$$;
