-- One line on every public function, table and view, so that \df+, \dt+
-- and \dv+ in psql say what each is and returns. The reference is
-- doc/vicidial_callbacks.md and the pages it lists. COMMENT ON replaces a
-- comment, so this file is replayable: a fresh install and every upgrade
-- run it last. The lint suite fails when a public object has none.

-- Agent functions (doc/vicidial_callbacks_agent.md)
COMMENT ON FUNCTION vicidial.hopper_next(varchar, varchar) IS
    'Hands the agent the next dialable lead of the campaign''s hopper: one vicidial_list row, now INCALL with the agent, or no row when none is ready.';
COMMENT ON FUNCTION vicidial.lead_disposition(bigint, varchar, varchar, timestamptz, text, text) IS
    'The hangup of an INCALL lead: sets its status and archives a callback call''s callback; returns the new callback''s id for CALLBK, the callback''s id when a retry status brings it back, else NULL.';
COMMENT ON FUNCTION vicidial.callback_slots(date, varchar, bigint) IS
    'The half-hour slots of a day that callback_schedule would accept (for a lead: on its clock, inside its calling hours): slot, is_default, local_time.';
COMMENT ON FUNCTION vicidial.callback_schedule(bigint, varchar, timestamptz, text, text, varchar) IS
    'Schedules a callback for a lead, which becomes CBHOLD and leaves the hopper, superseding its open callback; returns the new callback_id.';
COMMENT ON FUNCTION vicidial.agent_callbacks(varchar) IS
    'The agent''s open (ACTIVE or LIVE) USERONLY callbacks, earliest first, with the lead''s name and number, the customer''s wall-clock time and whether the lead is dialable now.';
COMMENT ON FUNCTION vicidial.agent_callback_count(varchar) IS
    'The agent''s CALLBACK button: how many of their shown USERONLY callbacks are LIVE, and how many are open; one index probe, to poll where LISTEN is not possible.';
COMMENT ON FUNCTION vicidial.callback_dial(bigint, varchar) IS
    'Dials a callback from the agent''s list (an ACTIVE one becomes LIVE): returns its lead, one vicidial_list row, now INCALL with the agent.';
COMMENT ON FUNCTION vicidial.agent_call_callbacks(varchar) IS
    'The open callback of each call the agent holds (is it a callback call, and its comments).';
COMMENT ON FUNCTION vicidial.lead_clock(bigint, timestamptz) IS
    'The lead''s wall clock and zone at a time: the customer''s date for callback_slots.';
COMMENT ON FUNCTION vicidial.agent_calls(varchar) IS
    'The calls the agent holds: their INCALL leads as vicidial_list rows, for a screen that reloads or lost the reply to a claim.';

-- Calling hours (doc/vicidial_callbacks_hours.md)
COMMENT ON FUNCTION vicidial.lead_dialable(bigint, timestamptz) IS
    'Whether the time falls inside the lead''s calling hours (campaign, list and state call times, holidays, on the lead''s clock).';
COMMENT ON FUNCTION vicidial.lead_next_dialable(bigint, timestamptz) IS
    'The first instant at or after the time inside the lead''s calling hours; NULL when none comes within 366 days.';
COMMENT ON FUNCTION vicidial.lead_local_time(bigint, timestamp) IS
    'A wall-clock time on the lead''s clock as an instant ("Tuesday 2:30, my time"); a time the clocks skip is an error, a repeated one its earlier instant.';
COMMENT ON FUNCTION vicidial.lead_dial_blockers(bigint, timestamptz) IS
    'Every reason the lead is not handed out at the time (CBHOLD, INCALL, HOURS, DNC, LIMIT_24H, LIST_INACTIVE, CAMPAIGN_INACTIVE), with when each lapses; no row: dialable.';

-- Admin functions (doc/vicidial_callbacks_admin.md)
COMMENT ON FUNCTION vicidial.callbacks_report(varchar, bigint, varchar, text, timestamptz, timestamptz, text, boolean, integer, integer) IS
    'The callback viewer: callbacks of every status, filtered, sorted and paged, with the lead''s current status, name, number and the customer''s wall-clock time.';
COMMENT ON FUNCTION vicidial.callbacks_summary(varchar, bigint, varchar, text, timestamptz, timestamptz) IS
    'Callback counts per campaign, list, agent, status and recipient, with the earliest and latest callback_time; the viewer''s filters.';
COMMENT ON FUNCTION vicidial.callback_modify(bigint, timestamptz, varchar, text, text, boolean) IS
    'The modify-lead screen: moves, reassigns, changes the recipient or comments of, or cancels an open callback, keeping its lead in step; returns the callback as changed.';
COMMENT ON FUNCTION vicidial.callbacks_reassign(varchar, varchar, varchar, bigint) IS
    'Moves an agent''s open USERONLY callbacks (of a campaign or list) to another agent, or to anyone; all or nothing; returns how many changed.';
COMMENT ON FUNCTION vicidial.callback_history(bigint) IS
    'Every change of a callback (status, time, owner, recipient) with who made it and why, oldest first: its vicidial_callback_log rows.';
COMMENT ON FUNCTION vicidial.agent_release(varchar) IS
    'Ends every call the agent holds, as a hangup with ERI would, a callback call leaving its callback open; returns how many calls ended.';
COMMENT ON FUNCTION vicidial.invariant_violations() IS
    'Every row that breaks an invariant (I1, I2, I3, I9, I10, I11), with what is wrong; empty is good. Run it after a restore or a bulk load.';

-- Server functions (doc/vicidial_callbacks_server.md)
COMMENT ON FUNCTION vicidial.hopper_run(timestamptz) IS
    'One run, as the worker makes it: ends timed-out calls, sweeps, fills the hopper, in one transaction; returns the counts, and cut_short when a part was left to the next run.';
COMMENT ON FUNCTION vicidial.sweep(timestamptz) IS
    'Turns every due ACTIVE callback LIVE and releases ANYONE callbacks'' leads to the hopper inside their hours; returns went_live, useronly, hopper_inserted.';
COMMENT ON FUNCTION vicidial.hopper_fill(timestamptz) IS
    'Tops up each active campaign''s hopper to hopper_level with dialable leads; returns how many rows it added.';
COMMENT ON FUNCTION vicidial.worker_state() IS
    'The background worker of this database: workers up, next wake, and the latest run cut short and why.';
COMMENT ON FUNCTION vicidial.log_partitions_add(timestamptz) IS
    'Adds month partitions to both logs up to the time, moving no row; returns the partitions created. Run it on its own, from a monthly job.';

-- Tables (doc/vicidial_callbacks_tables.md)
COMMENT ON TABLE vicidial.vicidial_users IS
    'Agents: name, active, whether they may own USERONLY callbacks (agentonly_callbacks), the database role that acts as them, their own active limit.';
COMMENT ON TABLE vicidial.vicidial_campaigns IS
    'Campaigns: dial statuses, hopper level, calling hours and zone, do-not-call use, the 24-hour limit and the callback policies.';
COMMENT ON TABLE vicidial.vicidial_lists IS
    'Lists of leads, each of one campaign, with optional calling hours and zone of their own.';
COMMENT ON TABLE vicidial.vicidial_list IS
    'Leads: status (CBHOLD held for a callback, INCALL on a call), the agent, phone number, name, zone and state.';
COMMENT ON TABLE vicidial.vicidial_hopper IS
    'Leads queued for hopper_next, at most once each: priority 50 for released callbacks, 0 for the fill; WAIT rows wait for their hours.';
COMMENT ON TABLE vicidial.vicidial_callbacks IS
    'Callbacks: ACTIVE (scheduled), LIVE (due), ARCHIVE (done, kept forever); USERONLY for their owner or ANYONE through the hopper.';
COMMENT ON TABLE vicidial.vicidial_call_times IS
    'Weekly calling windows, read on each lead''s clock; the shipped 24hours and 9am-9pm cannot be changed.';
COMMENT ON TABLE vicidial.vicidial_call_time_holidays IS
    'A call time''s holidays: that day''s window replaces the weekday''s; no window: closed all day.';
COMMENT ON TABLE vicidial.vicidial_state_call_times IS
    'The call time that further narrows the hours of every lead in a state.';
COMMENT ON TABLE vicidial.vicidial_dnc IS
    'The system do-not-call list; numbers compare on their digits. Adding one archives and unqueues the leads it covers (DNCL).';
COMMENT ON TABLE vicidial.vicidial_campaign_dnc IS
    'A campaign''s own do-not-call list; numbers compare on their digits. Adding one archives and unqueues the campaign''s leads it covers (DNCC).';
COMMENT ON TABLE vicidial.vicidial_log IS
    'The dial log: one row per dial, closed once by its disposition; kept forever, partitioned by month; the 24-hour limit counts it.';
COMMENT ON TABLE vicidial.vicidial_log_default IS
    'The dial log''s default partition: its rows outside every month partition.';
COMMENT ON TABLE vicidial.vicidial_callback_log IS
    'The callback log: one row per new callback and per change of its status, time, owner or recipient, with db_user and reason; kept forever, partitioned by month.';
COMMENT ON TABLE vicidial.vicidial_callback_log_default IS
    'The callback log''s default partition: its rows outside every month partition.';
COMMENT ON TABLE vicidial.hopper_runs IS
    'The background worker''s runs: times, counts, error, the part cut short; trimmed to vicidial_callbacks.history_rows.';
COMMENT ON TABLE vicidial.hours_version IS
    'Internal: the version of the calling hours, counted up by every change of them; what was decided on an older one is decided again by the next run.';
COMMENT ON TABLE vicidial.callback_releases IS
    'Internal: leads waiting in CBHOLD beside a LIVE ANYONE callback, each released by the first run at or after release_after.';
COMMENT ON TABLE vicidial.lead_checks IS
    'Internal: leads a statement touched, checked against their callbacks (I2, I11) at commit; empty between transactions.';
COMMENT ON TABLE vicidial.retrying_callbacks IS
    'Internal: callbacks a retry is moving in this transaction, whose new time is no new retry base; empty between transactions.';
COMMENT ON TABLE vicidial.hopper_room_count IS
    'Internal: the fill''s last count of the hoppers'' room, while it found every hopper full: until when that holds by the clock alone.';
COMMENT ON TABLE vicidial.hopper_room_changes IS
    'Internal: a row per change since the fill''s last count that could make room in a hopper; each count clears them.';
COMMENT ON TABLE vicidial.hopper_run_lock IS
    'Internal: runs serialize on this table''s lock, which only the extension''s owner may take.';
COMMENT ON TABLE vicidial.dnc_number_keys IS
    'Internal: a do-not-call listing and a change of a lead''s number to a number sharing a key wait for each other on these rows; only the extension''s owner may lock them.';

-- Views
COMMENT ON VIEW vicidial.worker_status IS
    'The background worker''s health in this database: last run and whether it committed, the latest error, next wake, workers up, the latest run cut short.';
COMMENT ON VIEW vicidial.lead_rules IS
    'Internal: what the dial rules read of each lead: its status, its own campaign (its list''s), its hours key and its do-not-call status.';
COMMENT ON VIEW vicidial.lead_hours IS
    'Internal: each lead''s zone (its own, its list''s or its campaign''s) and the call times that bind it.';
COMMENT ON VIEW vicidial.agent_display_limits IS
    'Internal: per campaign, the instant before which agents are shown callbacks (callback_display_days).';
COMMENT ON VIEW vicidial.lead_dnc IS
    'Internal: the do-not-call status each lead''s number earns in its campaign (DNCL, DNCC or NULL), the one rule every reader asks.';
