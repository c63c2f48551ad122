-- Audit log: append-only and hash-chained (workbench/audit.py writes and verifies it).
-- Each entry's hash covers its own fields and the previous entry's hash, so an edited,
-- removed or reordered entry breaks the chain where it happened. detail is VARCHAR, not
-- JSON, so the text hashed is the text stored, byte for byte.
CREATE TABLE IF NOT EXISTS wb.audit_log (
    seq        BIGINT PRIMARY KEY,     -- 1, 2, 3, ... without gaps; the key refuses a fork
    recorded_at TIMESTAMP NOT NULL,    -- UTC
    actor      VARCHAR NOT NULL,
    kind       VARCHAR NOT NULL,
    subject    VARCHAR NOT NULL,
    detail     VARCHAR NOT NULL,       -- canonical JSON text
    prev_hash  VARCHAR NOT NULL,       -- the previous entry's hash; 64 zeros for entry 1
    hash       VARCHAR NOT NULL        -- sha256 of the canonical JSON of all the above
);

-- The head: the last entry written and its hash, updated in the same transaction as each
-- append. New entries chain from here, not from what the log holds now, and verify compares
-- the log's end with it, so a cut-off tail is found too.
CREATE TABLE IF NOT EXISTS wb.audit_head (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    last_seq   BIGINT NOT NULL,
    last_hash  VARCHAR NOT NULL
);

INSERT INTO wb.audit_head VALUES (1, 0, repeat('0', 64)) ON CONFLICT DO NOTHING;
