-- Booking any centre at the province's door (docs/PROVINCE.md, "Booking any centre"). Each hub
-- publishes the slots of its days ahead with the province's share of their places; the door
-- books within that share only, so the centre (which books the rest) and the province never
-- overbook each other, whatever happens to the link between them. A booking's pass is signed
-- by the door and checked by the hub offline; the hub reads the confirmed and cancelled ones
-- from here when it can.

-- The province's places in each slot, as the hub last published them.
CREATE TABLE province_slots (
    centre         text NOT NULL REFERENCES centres (id),
    service        text NOT NULL,
    start          timestamptz NOT NULL,
    end_at         timestamptz NOT NULL,
    places         integer NOT NULL CHECK (places >= 0),
    -- The kiosk takes the booking's pass from … until …
    check_in_from  timestamptz NOT NULL,
    check_in_until timestamptz NOT NULL,
    as_of          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (centre, service, start)
);

ALTER TABLE province_slots ENABLE ROW LEVEL SECURITY;
CREATE POLICY read_all ON province_slots FOR SELECT USING (true);
CREATE POLICY write_own ON province_slots FOR ALL
    USING (centre <> ALL ((SELECT hang_doi_bound_elsewhere())::text[]))
    WITH CHECK (centre <> ALL ((SELECT hang_doi_bound_elsewhere())::text[]));

-- Every change to a booking takes the next number: a hub reads on from the last it saw.
CREATE SEQUENCE province_bookings_version;

-- Bookings made at the door. Never a phone number: `phone_hash` is a keyed hash under a key
-- only the door holds (for the per-phone caps), emptied once the booking's day is over.
CREATE TABLE province_bookings (
    centre      text NOT NULL REFERENCES centres (id),
    code        text NOT NULL,
    service     text NOT NULL,
    start       timestamptz NOT NULL,
    -- The booking's service day at its centre: the per-phone cap counts per day.
    day         date NOT NULL,
    phone_hash  text,
    -- 'held' until confirmed (or until `held_until`, when it lapses), then 'confirmed';
    -- 'cancelled' by its holder.
    state       text NOT NULL CHECK (state IN ('held', 'confirmed', 'cancelled')),
    held_until  timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    changed_at  timestamptz NOT NULL DEFAULT now(),
    version     bigint NOT NULL DEFAULT nextval('province_bookings_version'),
    PRIMARY KEY (centre, code)
);
CREATE INDEX province_bookings_slot ON province_bookings (centre, service, start);
CREATE INDEX province_bookings_phone ON province_bookings (phone_hash, day);
CREATE INDEX province_bookings_changes ON province_bookings (centre, version);

-- A proof of work is good once: spent challenges until they would have expired anyway.
CREATE TABLE door_spent_challenges (
    challenge  text PRIMARY KEY,
    expires_at timestamptz NOT NULL
);

-- Web Push from the door (docs/PROVINCE.md, "Web Push from the door"): a browser's
-- subscription to one ticket, found by its tracking code's hash as the ticket is. Deleted when
-- the ticket ends, when the push service says it is gone, and a day after it was made at most.
CREATE TABLE door_push (
    track_hash   text NOT NULL,
    endpoint     text NOT NULL,
    p256dh       text NOT NULL,
    auth         text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    -- "near" was sent (once per subscription).
    near_sent    boolean NOT NULL DEFAULT false,
    -- The call last told (`tickets.called_at`) and its recalls then.
    called_told  timestamptz,
    recalls_told integer NOT NULL DEFAULT 0,
    PRIMARY KEY (track_hash, endpoint)
);
