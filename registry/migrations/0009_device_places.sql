-- What other packages read of the registry when they need a device's place in a join:
-- its compound, kind, address and the grid of its building. A view the registry owns,
-- so that storage, the rules and the API never read its tables directly.
CREATE VIEW device_places AS
SELECT d.id, d.compound_id, d.kind, d.model, d.name, d.address, d.x, d.y, d.heartbeat_s,
       gb.grid_id
FROM devices d
LEFT JOIN grid_buildings gb
       ON gb.compound_id = d.compound_id AND gb.building_id = split_part(d.address, '-', 1);
