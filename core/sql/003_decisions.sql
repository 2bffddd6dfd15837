-- 003: a face too poor to judge is recorded as 'uncertain' (issue 14): it is
-- neither a recognition nor an unknown visitor.
ALTER TABLE dv_events DROP CONSTRAINT IF EXISTS dv_events_kind_check;
ALTER TABLE dv_events ADD CONSTRAINT dv_events_kind_check
    CHECK (kind IN ('recognized', 'unknown', 'enrolled', 'uncertain'));
