-- Grid and staff ids are unique only within a compound: a user's grids become
-- "compound/grid" keys, and a user linked to a staff member names the member's compound.
-- A bare grid id found in exactly one compound is qualified with it; one found in several
-- (or none) is dropped, so that no account keeps seeing another compound's grid. A staff
-- id found in several compounds leaves `staff_compound` empty: that account stops
-- working until an administrator links it again.
ALTER TABLE api_users ADD COLUMN staff_compound text;

UPDATE api_users u SET grids = ARRAY(
    SELECT k FROM unnest(u.grids) AS k WHERE position('/' IN k) > 0
    UNION
    SELECT min(g.compound_id) || '/' || g.id FROM grids g
    WHERE g.id = ANY(u.grids) GROUP BY g.id HAVING count(*) = 1
    ORDER BY 1
)
WHERE EXISTS (SELECT 1 FROM unnest(u.grids) AS k WHERE position('/' IN k) = 0);

UPDATE api_users u SET staff_compound = (
    SELECT min(s.compound_id) FROM staff s WHERE s.id = u.staff_id HAVING count(*) = 1
)
WHERE u.staff_id IS NOT NULL;

COMMENT ON COLUMN api_users.grids IS '"compound/grid" keys of the grids a grid worker sees';
