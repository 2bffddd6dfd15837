-- hotel.lua: a hotel that remembers its guests (docs/hooks.md).
-- Counts stays (a new stay when the guest was last seen more than stay_gap_hours ago) and returns the guest's
-- preferences: those in the person's attributes (PATCH /v1/persons/{id} {"attributes":{"room_temp":21}}),
-- with those sent as request fields ({"fields":{"preferences":{"bath_temp":39}}}) remembered on top.
-- Settings (PATCH /v1/tenant {"settings":{"hotel":{"stay_gap_hours":12}}}).

local PREFERENCES = { "room_temp", "bath_temp", "pillow", "newspaper", "breakfast", "language" }

local function preferences(ev)
  local id, attrs = ev.person.id, ev.person.attributes or {}
  local saved = dv.get(id, "preferences") or {}
  local sent = ev.request.fields.preferences
  if type(sent) == "table" then
    for k, v in pairs(sent) do saved[k] = v end
    dv.set(id, "preferences", saved)
  end
  local prefs = {}
  for _, k in ipairs(PREFERENCES) do prefs[k] = attrs[k] end
  for k, v in pairs(saved) do prefs[k] = v end
  return prefs
end

function on_recognized(ev)
  local id = ev.person.id
  local gap = (tonumber((ev.request.settings.hotel or {}).stay_gap_hours) or 12) * 3600
  local last = dv.get(id, "last_seen")
  local stays = dv.get(id, "stays") or 0
  if last == nil or ev.request.time - last > gap then
    stays = dv.incr(id, "stays")
  end
  dv.set(id, "last_seen", ev.request.time)
  local prefs = preferences(ev)
  local seen = {}
  for _, e in ipairs(dv.events(id, { kind = "recognized", limit = 4 })) do
    seen[#seen + 1] = dv.date("%Y-%m-%d %H:%M", e.time)
  end
  return {
    guest = ev.person.name,
    stays = stays,
    preferences = prefs,
    recent_visits = seen,
    message = stays > 1 and ("Welcome back, " .. ev.person.name .. ". Stay " .. stays .. ".")
      or ("Welcome, " .. ev.person.name .. "."),
  }
end

function on_enrolled(ev)
  dv.set(ev.person.id, "last_seen", ev.request.time)
  dv.incr(ev.person.id, "stays")
  return { guest = ev.person.name, preferences = preferences(ev) }
end
