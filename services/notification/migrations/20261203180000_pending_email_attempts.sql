-- Parked e-mails whose sending failed: how many attempts, and not before when (exponential
-- backoff), so one that the relay keeps refusing neither holds up the others nor is tried every
-- minute.

ALTER TABLE pending_emails
    ADD COLUMN attempts        integer     NOT NULL DEFAULT 0,
    ADD COLUMN next_attempt_at timestamptz NOT NULL DEFAULT now();

CREATE INDEX pending_emails_due ON pending_emails (next_attempt_at);
