-- Appointments: each booking's current state, shipped with the events that changed it (`seq`
-- as for tickets). Never who booked: no phone number, nor its hash (the events' bodies carry
-- `"holder": "phone"` or `"staff"` only). `target_min` is the service's target wait when the row
-- was written, so punctuality reads as the centre judged it then.
CREATE TABLE appointments (
    centre        text NOT NULL REFERENCES centres (id),
    code          text NOT NULL,
    service       text NOT NULL,
    day           date NOT NULL,
    start         timestamptz NOT NULL,
    status        text NOT NULL,
    booked_at     timestamptz NOT NULL,
    by_staff      boolean NOT NULL,
    checked_in_at timestamptz,
    cancelled_at  timestamptz,
    ticket        bigint,
    target_min    integer NOT NULL,
    seq           bigint NOT NULL,
    PRIMARY KEY (centre, code)
);
CREATE INDEX appointments_day ON appointments (day, centre);

ALTER TABLE appointments ENABLE ROW LEVEL SECURITY;
CREATE POLICY read_all ON appointments FOR SELECT USING (true);
CREATE POLICY write_own ON appointments FOR ALL
    USING (centre <> ALL ((SELECT hang_doi_bound_elsewhere())::text[]))
    WITH CHECK (centre <> ALL ((SELECT hang_doi_bound_elsewhere())::text[]));

-- A booking with the first call of its ticket: what the appointments' figures are made of.
CREATE VIEW appointment_facts AS
SELECT a.centre, a.code, a.service, a.day, a.start, a.status, a.by_staff, a.checked_in_at,
       t.first_called_at AS called_at, a.target_min
FROM appointments a
LEFT JOIN tickets t ON t.centre = a.centre AND t.id = a.ticket;
