-- The province's door (docs/PROVINCE.md, "The province's door"): what each centre's hub says of
-- its fields now — people waiting, a new ticket's estimated wait, open or not — and when it last
-- said anything; and a ticket's page from anywhere, by its tracking code's hash. A hub writes these with every shipment and at least once a minute; the door
-- shows a centre silent for longer than a few minutes as silent since then, never as live.

-- The hub's last word, on the database's clock (the door compares it with its `now()`).
ALTER TABLE centres ADD COLUMN heard_at timestamptz;
-- The service day the hub is in (its clock, its day start): a ticket of an earlier day that
-- never finished has expired.
ALTER TABLE centres ADD COLUMN service_day date;

CREATE TABLE service_waits (
    centre   text NOT NULL REFERENCES centres (id),
    service  text NOT NULL,
    -- The kiosk's order of the fields.
    position integer NOT NULL,
    -- 'open', 'closed' (outside its hours, or closed by the supervisor) or 'sold_out'.
    state    text NOT NULL,
    waiting  integer NOT NULL,
    -- A ticket taken now would wait about this long; NULL: no counter is serving the field.
    eta_min  integer,
    as_of    timestamptz NOT NULL,
    -- The waiting tickets' ids in call order (a ticket's place: docs/PROVINCE.md), and the
    -- seconds each one ahead adds to a wait, for an ordinary and a priority ticket (NULL: no
    -- counter serves that class) — the estimate the hub's kiosk makes.
    queue                   bigint[] NOT NULL DEFAULT '{}',
    secs_per_ahead          double precision,
    secs_per_ahead_priority double precision,
    PRIMARY KEY (centre, service)
);

-- A ticket followed from anywhere: the SHA-256 (hex) of its tracking code, never the code, so
-- the database alone opens no one's page. Written by the hub with the ticket.
ALTER TABLE tickets ADD COLUMN track_hash text;
CREATE INDEX tickets_track_hash ON tickets (track_hash);

ALTER TABLE service_waits ENABLE ROW LEVEL SECURITY;
CREATE POLICY read_all ON service_waits FOR SELECT USING (true);
CREATE POLICY write_own ON service_waits FOR ALL
    USING (centre <> ALL ((SELECT hang_doi_bound_elsewhere())::text[]))
    WITH CHECK (centre <> ALL ((SELECT hang_doi_bound_elsewhere())::text[]));
