-- Hàng đợi — the province's database, version 1: every centre's event log, its tickets, and the
-- figures computed from them. Applied by `hub ship` (or by hand: psql -f, in order) inside one
-- transaction; `hang_doi_schema` says which versions are in. Never edit a released file: add
-- the next one.

CREATE TABLE hang_doi_schema (
    version    integer PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);

-- One row per centre, written by its shipper: what the figures need to know about it, and how
-- far its log has arrived.
CREATE TABLE centres (
    id            text PRIMARY KEY,
    name          text NOT NULL,
    name_en       text NOT NULL DEFAULT '',
    time_zone     text NOT NULL,
    -- A service day starts at this local time (numbering restarts, what waits expires).
    day_starts_at interval NOT NULL DEFAULT '0 hours',
    -- Every event with seq <= shipped_seq is in `events`; moved in the same transaction.
    shipped_seq   bigint NOT NULL DEFAULT 0,
    shipped_at    timestamptz,
    first_seen    timestamptz NOT NULL DEFAULT now(),
    -- The database role that alone may write this centre's rows (NULL: any role with the
    -- privileges). Set by the province's administrator, never by a shipper.
    login_role    name
);

-- The centre's fields (lĩnh vực), so that reports can name them.
CREATE TABLE services (
    centre  text NOT NULL REFERENCES centres (id),
    id      text NOT NULL,
    name    text NOT NULL,
    name_en text NOT NULL DEFAULT '',
    PRIMARY KEY (centre, id)
);

-- The raw event log, exactly once per (centre, seq). `body` is the hub's event (format 1,
-- docs/PROTOCOL.md) without the ticket's tracking code, which stays in the centre.
CREATE TABLE events (
    centre text NOT NULL REFERENCES centres (id),
    seq    bigint NOT NULL,
    at     timestamptz NOT NULL,
    day    date NOT NULL,
    kind   text NOT NULL,
    device text NOT NULL,
    staff  text,
    body   jsonb NOT NULL,
    PRIMARY KEY (centre, seq)
);
CREATE INDEX events_day ON events (day, centre);

-- Every ticket's latest state as its hub knows it; `seq` is the event after which it holds,
-- so an older state never overwrites a newer one.
CREATE TABLE tickets (
    centre          text NOT NULL REFERENCES centres (id),
    id              bigint NOT NULL,
    day             date NOT NULL,
    number          text NOT NULL,
    service         text NOT NULL,
    priority        text,
    status          text NOT NULL,
    issued_at       timestamptz NOT NULL,
    first_called_at timestamptz,
    called_at       timestamptz,
    serving_at      timestamptz,
    finished_at     timestamptz,
    counter         integer,
    staff           text,
    recalls         integer NOT NULL,
    transfers       integer NOT NULL,
    overdue_wait    boolean NOT NULL,
    overdue_service boolean NOT NULL,
    rating          smallint,
    seq             bigint NOT NULL,
    PRIMARY KEY (centre, id)
);
CREATE INDEX tickets_day ON tickets (day, centre);

-- Who may write which centre's rows. The owner of the tables (the role that applied this file)
-- is not bound by these policies; every other role reads all rows and writes only the rows of a
-- centre bound to it, or of a centre bound to no role. So a centre whose role is stolen cannot
-- forge another centre's figures. SECURITY DEFINER functions read `centres` for the policies
-- (a policy on `centres` cannot query `centres` itself).
CREATE FUNCTION hang_doi_bound_role(centre text) RETURNS name
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
AS $$ SELECT login_role FROM centres WHERE id = centre $$;

-- The centres bound to a role other than this session's: the ones it may not write. Called
-- as `(SELECT hang_doi_bound_elsewhere())::text[]`, uncorrelated, so PostgreSQL evaluates it
-- once per statement, not once per row (a row-by-row lookup halved the ingest rate).
CREATE FUNCTION hang_doi_bound_elsewhere() RETURNS text[]
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
AS $$
    SELECT coalesce(array_agg(id), '{}') FROM centres
    WHERE login_role IS NOT NULL AND login_role <> session_user
$$;

ALTER TABLE centres ENABLE ROW LEVEL SECURITY;
CREATE POLICY read_all ON centres FOR SELECT USING (true);
CREATE POLICY write_own_insert ON centres FOR INSERT WITH CHECK (login_role IS NULL);
CREATE POLICY write_own_update ON centres FOR UPDATE
    USING (id <> ALL ((SELECT hang_doi_bound_elsewhere())::text[]))
    WITH CHECK (login_role IS NOT DISTINCT FROM hang_doi_bound_role(id));

ALTER TABLE services ENABLE ROW LEVEL SECURITY;
CREATE POLICY read_all ON services FOR SELECT USING (true);
CREATE POLICY write_own ON services FOR ALL
    USING (centre <> ALL ((SELECT hang_doi_bound_elsewhere())::text[]))
    WITH CHECK (centre <> ALL ((SELECT hang_doi_bound_elsewhere())::text[]));

ALTER TABLE events ENABLE ROW LEVEL SECURITY;
CREATE POLICY read_all ON events FOR SELECT USING (true);
CREATE POLICY write_own ON events FOR ALL
    USING (centre <> ALL ((SELECT hang_doi_bound_elsewhere())::text[]))
    WITH CHECK (centre <> ALL ((SELECT hang_doi_bound_elsewhere())::text[]));

ALTER TABLE tickets ENABLE ROW LEVEL SECURITY;
CREATE POLICY read_all ON tickets FOR SELECT USING (true);
CREATE POLICY write_own ON tickets FOR ALL
    USING (centre <> ALL ((SELECT hang_doi_bound_elsewhere())::text[]))
    WITH CHECK (centre <> ALL ((SELECT hang_doi_bound_elsewhere())::text[]));

-- A ticket as the figures count it (the same rules as `hub report`, queue-core/src/figures.rs):
-- a ticket of a day before the centre's current service day that never finished is expired;
-- the wait ends at the first call; a service time is that of a finished service; times in
-- whole milliseconds, as minutes. (`greatest` ignores a NULL: hence the CASEs.)
CREATE VIEW ticket_facts AS
SELECT t.centre,
       t.day,
       t.service,
       t.priority IS NOT NULL AS priority,
       t.counter,
       t.staff,
       CASE
           WHEN t.status IN ('waiting', 'called', 'serving')
                AND t.day < ((now() AT TIME ZONE c.time_zone) - c.day_starts_at)::date
           THEN 'expired'
           ELSE t.status
       END AS status,
       CASE WHEN coalesce(t.first_called_at, t.called_at) IS NOT NULL THEN
           (greatest(floor(extract(epoch FROM coalesce(t.first_called_at, t.called_at) - t.issued_at) * 1000), 0)
               / 60000.0)::double precision
       END AS wait_min,
       CASE WHEN t.status = 'done' AND t.serving_at IS NOT NULL AND t.finished_at IS NOT NULL THEN
           (greatest(floor(extract(epoch FROM t.finished_at - t.serving_at) * 1000), 0)
               / 60000.0)::double precision
       END AS service_min,
       t.overdue_wait OR t.overdue_service AS overdue,
       t.rating,
       t.transfers > 0 AS transferred
FROM tickets t
JOIN centres c ON c.id = t.centre;

-- The figures of a centre's field on a day: what a BI tool (Metabase, Superset) charts. Sums
-- over days are right for the counts; averages over several days are weighted by `served` or
-- `issued`, and a percentile over several days needs `ticket_facts` (as `hub report
-- --province` does).
CREATE VIEW centre_day_figures AS
SELECT centre,
       day,
       service,
       count(*) AS issued,
       count(*) FILTER (WHERE status = 'done') AS served,
       count(*) FILTER (WHERE status = 'no_show') AS no_shows,
       count(*) FILTER (WHERE status = 'cancelled') AS cancelled,
       count(*) FILTER (WHERE status = 'expired') AS expired,
       avg(wait_min) AS wait_avg_min,
       percentile_disc(0.9) WITHIN GROUP (ORDER BY wait_min) AS wait_p90_min,
       avg(service_min) AS service_avg_min,
       percentile_disc(0.9) WITHIN GROUP (ORDER BY service_min) AS service_p90_min,
       count(*) FILTER (WHERE overdue)::double precision / count(*) AS overdue_share,
       avg(rating)::double precision AS rating_avg,
       count(*) FILTER (WHERE transferred) AS transferred
FROM ticket_facts
GROUP BY centre, day, service;
