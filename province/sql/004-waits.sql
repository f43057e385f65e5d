-- The province's door (docs/PROVINCE.md, "The province's door"): what each centre's hub says of
-- its fields now — people waiting, a new ticket's estimated wait, open or not — and when it last
-- said anything. A hub writes these with every shipment and at least once a minute; the door
-- shows a centre silent for longer than a few minutes as silent since then, never as live.

-- The hub's last word, on the database's clock (the door compares it with its `now()`).
ALTER TABLE centres ADD COLUMN heard_at timestamptz;

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
    PRIMARY KEY (centre, service)
);

ALTER TABLE service_waits ENABLE ROW LEVEL SECURITY;
CREATE POLICY read_all ON service_waits FOR SELECT USING (true);
CREATE POLICY write_own ON service_waits FOR ALL
    USING (centre <> ALL ((SELECT hang_doi_bound_elsewhere())::text[]))
    WITH CHECK (centre <> ALL ((SELECT hang_doi_bound_elsewhere())::text[]));
