# Shared by the TAP tests: a cluster that preloads the extension, and the
# small call center every test seeds.
package CallbackCluster;

use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use Exporter 'import';

our @EXPORT = qw(callback_node seed_call_center catalog_fingerprint readme_roles_sql);

# A started cluster preloading vicidial_callbacks (and whatever else is
# asked), with the given postgresql.conf lines.
sub callback_node
{
    my ($name, %opts) = @_;
    my $node = PostgreSQL::Test::Cluster->new($name);
    $node->init(%{ $opts{init} || {} });
    my $preload = join(',', 'vicidial_callbacks', @{ $opts{preload} || [] });
    $node->append_conf('postgresql.conf', "shared_preload_libraries = '$preload'\n" . ($opts{conf} || ''));
    $node->start unless $opts{no_start};
    return $node;
}

# The extension, three agents, one campaign with one list, and $leads NEW leads.
sub seed_call_center
{
    my ($node, $db, $leads) = @_;
    $leads ||= 10;
    $node->safe_psql($db, qq{
        CREATE EXTENSION IF NOT EXISTS vicidial_callbacks;
        INSERT INTO vicidial.vicidial_users ("user", agentonly_callbacks) VALUES ('ann', true), ('bob', false), ('cat', false);
        INSERT INTO vicidial.vicidial_campaigns (campaign_id, hopper_level, local_call_time) VALUES ('C', 0, '24hours');
        INSERT INTO vicidial.vicidial_lists (list_id, campaign_id) VALUES (1, 'C');
        INSERT INTO vicidial.vicidial_list (list_id) SELECT 1 FROM generate_series(1, $leads);
    });
    return;
}

# The ```sql blocks of the README's "## Roles" section, in order: the
# roles exactly as the README writes them.
sub readme_roles_sql
{
    open(my $readme, '<', 'README.md') or die "README.md: $!";
    my $text = do { local $/; <$readme> };
    close $readme;
    my ($section) = $text =~ /^## Roles\n(.*?)^## /ms or die 'no "## Roles" section in README.md';
    return $section =~ /^```sql\n(.*?)^```/msg;
}

# Everything the extension put in the catalog, one line per fact, sorted:
# relations, columns in order, constraints, indexes, triggers, functions
# (whole definition, owner-independent settings, privileges), views,
# sequences, schema privileges, extension members and dump configuration.
# Two databases with equal fingerprints have the same installed extension.
sub catalog_fingerprint
{
    my ($node, $db) = @_;
    return $node->safe_psql($db, q{
        WITH ext AS (SELECT oid, extconfig, extcondition FROM pg_extension WHERE extname = 'vicidial_callbacks'),
        rel AS (SELECT c.oid, c.relname, c.relkind, c.relacl, c.reloptions FROM pg_class c WHERE c.relnamespace = 'vicidial'::regnamespace)
        SELECT line FROM (
            SELECT 'relation ' || relname || ' ' || relkind::text || ' acl=' || coalesce(relacl::text, '-')
                   || ' options=' || coalesce(reloptions::text, '-') AS line
              FROM rel
            UNION ALL
            SELECT 'column ' || rel.relname || ' #' || row_number() OVER (PARTITION BY rel.oid ORDER BY a.attnum)
                   || ' ' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
                   || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
                   || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
                   || coalesce(' acl=' || a.attacl::text, '')
              FROM rel JOIN pg_attribute a ON a.attrelid = rel.oid AND a.attnum > 0 AND NOT a.attisdropped
              LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
             WHERE rel.relkind IN ('r', 'v', 'p')
            UNION ALL
            SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
                   || CASE WHEN condeferrable THEN ' deferrable' ELSE '' END
                   || CASE WHEN condeferred THEN ' deferred' ELSE '' END
              FROM pg_constraint WHERE connamespace = 'vicidial'::regnamespace
            UNION ALL
            SELECT 'index ' || pg_get_indexdef(i.indexrelid)
              FROM pg_index i JOIN rel ON rel.oid = i.indrelid
            UNION ALL
            SELECT 'trigger ' || pg_get_triggerdef(t.oid) || ' enabled=' || t.tgenabled::text
              FROM pg_trigger t JOIN rel ON rel.oid = t.tgrelid WHERE NOT t.tgisinternal
            UNION ALL
            SELECT 'function ' || p.oid::regprocedure || ' md5=' || md5(pg_get_functiondef(p.oid))
                   || ' acl=' || coalesce(p.proacl::text, '-')
              FROM pg_proc p WHERE p.pronamespace = 'vicidial'::regnamespace
            UNION ALL
            SELECT 'view ' || rel.relname || ' ' || md5(pg_get_viewdef(rel.oid))
              FROM rel WHERE rel.relkind = 'v'
            UNION ALL
            SELECT 'sequence ' || s.seqrelid::regclass || ' ' || format_type(s.seqtypid, NULL) || ' '
                   || s.seqstart || ' ' || s.seqincrement || ' ' || s.seqmax || ' ' || s.seqmin || ' ' || s.seqcycle
              FROM pg_sequence s JOIN rel ON rel.oid = s.seqrelid
            UNION ALL
            SELECT 'schema acl=' || coalesce(nspacl::text, '-') FROM pg_namespace WHERE nspname = 'vicidial'
            UNION ALL
            SELECT 'member ' || pg_describe_object(d.classid, d.objid, d.objsubid)
              FROM pg_depend d JOIN ext ON d.refobjid = ext.oid
             WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
            UNION ALL
            SELECT 'dumped ' || cfg.tab::regclass || ' where ' || coalesce(nullif(cfg.c, ''), '-')
              FROM ext, unnest(ext.extconfig, ext.extcondition) AS cfg(tab, c)
        ) facts
        ORDER BY line COLLATE "C"
    });
}

1;
