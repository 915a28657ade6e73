# Shared by the TAP tests: a cluster that preloads the extension, and the
# small call center every test seeds.
package CallbackCluster;

use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use Exporter 'import';

our @EXPORT = qw(callback_node seed_call_center);

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
        INSERT INTO vicidial.vicidial_campaigns (campaign_id, hopper_level) VALUES ('C', 0);
        INSERT INTO vicidial.vicidial_lists (list_id, campaign_id) VALUES (1, 'C');
        INSERT INTO vicidial.vicidial_list (list_id) SELECT 1 FROM generate_series(1, $leads);
    });
    return;
}

1;
