# Every SQL example of the documentation runs as written. The ```sql
# blocks of README.md run first, in file order, on a new database (the
# README's own block creates the extension). Then each page of doc/, in
# the order the index page (doc/vicidial_callbacks.md) lists them, the
# index first, runs on a new database of its own where the README's blocks
# have run again: a page builds on the README's tour and roles, never on
# another page. Each block runs in a psql session of its own with
# ON_ERROR_STOP; a page stops at its first error, which the test names
# with the file and line of the block. The worker is off, so only the
# examples move callbacks. Shell sessions, configuration files and lines
# that need pg_cron are fenced as ```sh or ```text and are not run.
use strict;
use warnings;
use lib 'test';
use CallbackCluster;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# The ```sql blocks of a file, in order, each with the line it starts on.
sub sql_blocks
{
    my ($file) = @_;
    open(my $fh, '<', $file) or die "$file: $!";
    my $text = do { local $/; <$fh> };
    close $fh;
    my @blocks;
    while ($text =~ /^```sql\n(.*?)^```/msg)
    {
        my $sql = $1;
        my $line = 1 + (substr($text, 0, $-[0]) =~ tr/\n//);
        push @blocks, { file => $file, line => $line, sql => $sql };
    }
    return @blocks;
}

# The pages the index links to, in the order it lists them first.
my $index = 'doc/vicidial_callbacks.md';
my @pages = ($index);
{
    open(my $fh, '<', $index) or die "$index: $!";
    my $text = do { local $/; <$fh> };
    close $fh;
    my %seen = ($index => 1);
    while ($text =~ /\]\((vicidial_callbacks_\w+\.md)[)#]/g)
    {
        my $page = "doc/$1";
        push @pages, $page unless $seen{$page}++;
    }
}
is_deeply([ sort @pages ], [ sort glob('doc/*.md') ], 'the index lists every page of doc/');

my $node = callback_node('docs', conf => "vicidial_callbacks.enabled = off\n");

# Runs the blocks in order on the database; the first error, or '' when none.
sub run_blocks
{
    my ($db, @blocks) = @_;
    for my $block (@blocks)
    {
        my ($rc, $out, $err) = $node->psql($db, $block->{sql}, on_error_stop => 1);
        return "$block->{file} line $block->{line}: $err" if $rc != 0;
    }
    return '';
}

# A new database, and no role but the bootstrap superuser and PostgreSQL's
# own: every page creates the README's roles again.
my $databases = 0;
sub new_database
{
    $node->safe_psql('postgres', q{
        SELECT format('DROP DATABASE %I', datname) FROM pg_database WHERE datname LIKE 'docs\_%' \gexec
        SELECT format('DROP ROLE %I', rolname) FROM pg_roles
         WHERE rolname !~ '^pg_' AND oid <> 10 ORDER BY rolname \gexec
    });
    my $db = 'docs_' . ++$databases;
    $node->safe_psql('postgres', "CREATE DATABASE $db");
    return $db;
}

my @readme = sql_blocks('README.md');
ok(@readme > 0, 'the README has SQL examples');
my $tour = new_database();
my $error = run_blocks($tour, @readme);
is($error, '', 'the README\'s SQL examples run as written');

# The tour's results, as its comments give them, whatever the hour it runs
# at: both callbacks went LIVE at the run of step 4 (a callback dialed
# before it is due logs DIAL, not SWEEP), were dialed and archived.
is($node->safe_psql($tour, q{
    SELECT string_agg(c.callback_id || ': ' || c.status || ' ' || c.archive_reason || ' '
                      || (SELECT string_agg(h.reason, ',' ORDER BY h.change_id)
                            FROM vicidial.callback_history(c.callback_id) h), '; ' ORDER BY c.callback_id)
      FROM vicidial.vicidial_callbacks c}),
   '1: ARCHIVE DIALED SCHEDULED,SWEEP,DIALED; 2: ARCHIVE DIALED SCHEDULED,SWEEP,DIALED',
   'the README tour ends as its comments say');

for my $page (@pages)
{
    my @blocks = sql_blocks($page);
    my $db = new_database();
    my $readme_error = run_blocks($db, @readme);
    BAIL_OUT("the README's examples fail: $readme_error") if $readme_error ne '';
    is(run_blocks($db, @blocks), '', "$page: its " . scalar(@blocks) . ' SQL examples run as written');
}

$node->stop;
done_testing();
