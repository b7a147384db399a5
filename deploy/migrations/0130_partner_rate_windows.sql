-- depends: 0001_config
-- A partner's rate limit is the partner's, however many gateway instances serve it
-- (docs/decisions/0015-shared-rate-limits.md, issue 19). Each partner has one window
-- at a time: it opens with the first request after the previous one ended and lasts a minute
-- (p_window_s). Instances reserve slots of it here, a few at a time, and spend them locally until
-- the window ends; `granted` counts every slot handed out, spent or not, so all instances together
-- never admit more than the limit in one window.
--
-- UNLOGGED: a window lives a minute, so its row is not worth a WAL write and a flush at every
-- reservation. After a crash of Postgres the table is empty and every partner starts a new window
-- (at most one window's allowance more, once); replicas do not have it.

CREATE UNLOGGED TABLE partner_rate_windows (
    programme_id text NOT NULL,
    partner_id text NOT NULL,
    window_ends_at timestamptz NOT NULL,
    granted integer NOT NULL CHECK (granted >= 0),
    PRIMARY KEY (programme_id, partner_id)
);

-- Reserves up to p_wanted slots of the partner's current window (opening a new one if the last
-- has ended): returns how many it granted (0 once the window is full) and the seconds until the
-- window ends, on this server's clock. Grants shrink as the window fills (at most a quarter of
-- what is left), so that slots stranded on an instance the partner no longer calls stay few.
-- The row lock serialises instances reserving for the same partner; one statement, no WAL.
CREATE FUNCTION reserve_partner_rate(
    p_programme_id text,
    p_partner_id text,
    p_limit integer,
    p_wanted integer,
    p_window_s double precision
) RETURNS TABLE (slots integer, window_left_s double precision)
LANGUAGE plpgsql AS $$
DECLARE
    ends_at timestamptz;
    taken integer;
    left_over integer;
    checked_at timestamptz;
BEGIN
    IF p_limit < 1 OR p_wanted < 1 OR NOT p_window_s > 0 THEN
        RAISE EXCEPTION 'reserve_partner_rate: limit %, wanted % and window % must be positive',
            p_limit, p_wanted, p_window_s USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT w.window_ends_at, w.granted INTO ends_at, taken FROM partner_rate_windows w
    WHERE w.programme_id = p_programme_id AND w.partner_id = p_partner_id FOR UPDATE;
    IF NOT FOUND THEN
        -- A partner's first request: another instance may insert the row at the same time.
        INSERT INTO partner_rate_windows VALUES (p_programme_id, p_partner_id, now(), 0)
            ON CONFLICT DO NOTHING;
        SELECT w.window_ends_at, w.granted INTO ends_at, taken FROM partner_rate_windows w
        WHERE w.programme_id = p_programme_id AND w.partner_id = p_partner_id FOR UPDATE;
    END IF;
    -- The time once the row is locked: now() is the statement's start, which may be before an
    -- instance that waited for the lock opened the window (its seconds left would exceed it).
    checked_at := clock_timestamp();
    IF ends_at <= checked_at THEN
        ends_at := checked_at + make_interval(secs => p_window_s);
        taken := 0;
    END IF;
    left_over := greatest(0, p_limit - taken);
    slots := least(p_wanted, left_over, greatest(1, left_over / 4));
    IF slots > 0 THEN  -- a full window is left as it is
        UPDATE partner_rate_windows w SET window_ends_at = ends_at, granted = taken + slots
        WHERE w.programme_id = p_programme_id AND w.partner_id = p_partner_id;
    END IF;
    window_left_s := extract(epoch FROM ends_at - checked_at);
    RETURN NEXT;
END
$$;
