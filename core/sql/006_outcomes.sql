-- 006: what became of a recognition (issue 14). Each event knows which face
-- of its photo it was (face_index, from 0), and a person at the desk can
-- settle it: confirmed as a person (the model was unsure, or wrong) or
-- rejected (nobody of these: a new visitor). The outcome is kept beside what
-- the model decided, so the two can be compared.
ALTER TABLE dv_events ADD COLUMN face_index integer;
ALTER TABLE dv_events ADD COLUMN outcome text CHECK (outcome IN ('confirmed', 'rejected'));
ALTER TABLE dv_events ADD COLUMN outcome_person_id bigint REFERENCES dv_persons(id) ON DELETE SET NULL;
ALTER TABLE dv_events ADD COLUMN outcome_at timestamptz;
ALTER TABLE dv_events ADD COLUMN outcome_key bigint;
