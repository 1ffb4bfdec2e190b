-- Outbox progress that must survive a crash or a retry.

-- Users still to ping after the alert's own message went out: one message pings at most 100 users
-- (Discord's allowed_mentions limit), so a large following gets the rest in further messages, and a
-- retry continues with whoever is left. A digest's leftover pings ride on its first alert.
ALTER TABLE outbox ADD COLUMN pings_left TEXT NOT NULL DEFAULT '[]';

-- When an attempt whose outcome is unknown (dropped connection, timeout, 5xx) was first made: the
-- message may exist although Discord forgot its nonce, so the retry looks for it in the channel first.
ALTER TABLE outbox ADD COLUMN unknown_since TEXT;

CREATE INDEX outbox_pings_due ON outbox (next_attempt_at, id) WHERE pings_left != '[]';
