-- Who raised a notice: the policy lets everyone see the notices they raised, so every
-- notice list's scope is "(site and department I head …) OR issuer_id = me". Without
-- this index that OR cannot use an index at all, and each list and count of a head's
-- inbox read every notice of the organisation (docs/benchmarks.md, "Console at a
-- year's scale").
CREATE INDEX notices_issuer ON notices (issuer_id);
