-- A check a DBA runs after a restore, a bulk load or anything done with the
-- triggers off: every row that breaks an invariant, with the rule it breaks.
-- Empty means the tables hold I1-I4, I10 and I11.

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
    SELECT 'I3', h.lead_id, 'CBHOLD lead in the hopper'
      FROM vicidial.vicidial_hopper h JOIN vicidial.vicidial_list l ON l.lead_id = h.lead_id
     WHERE l.status = 'CBHOLD'
    UNION ALL
    SELECT 'I3', NULL, 'campaign ' || cp.campaign_id || ' dials CBHOLD'
      FROM vicidial.vicidial_campaigns cp WHERE 'CBHOLD' = ANY (cp.dial_statuses)
    UNION ALL
    SELECT 'I10', h.lead_id, 'INCALL lead in the hopper'
      FROM vicidial.vicidial_hopper h JOIN vicidial.vicidial_list l ON l.lead_id = h.lead_id
     WHERE l.status = 'INCALL'
    UNION ALL
    SELECT 'I10', NULL, 'campaign ' || cp.campaign_id || ' dials INCALL'
      FROM vicidial.vicidial_campaigns cp WHERE 'INCALL' = ANY (cp.dial_statuses)
    UNION ALL
    SELECT 'I11', l.lead_id, l.status || coalesce(' with ' || l."user", '') || ' under USERONLY callback '
                             || c.callback_id || ' of ' || c."user"
      FROM vicidial.vicidial_list l JOIN vicidial.vicidial_callbacks c ON c.lead_id = l.lead_id
     WHERE c.status IN ('ACTIVE', 'LIVE') AND c.recipient = 'USERONLY'
       AND l.status <> 'CBHOLD' AND NOT (l.status = 'INCALL' AND l."user" IS NOT DISTINCT FROM c."user")
    ORDER BY 1, 2
$$;
