-- Counter displays: who gave a ticket's rating (`citizen` on the counter's screen, or
-- `counter`), and the reasons chosen with a low one. Ratings from before came from counters.
ALTER TABLE tickets
    ADD COLUMN rated_by text,
    ADD COLUMN rating_reasons text[] NOT NULL DEFAULT '{}';
UPDATE tickets SET rated_by = 'counter' WHERE rating IS NOT NULL;

CREATE OR REPLACE VIEW ticket_facts AS
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
       t.transfers > 0 AS transferred,
       t.rated_by,
       t.rating_reasons
FROM tickets t
JOIN centres c ON c.id = t.centre;
