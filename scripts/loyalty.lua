-- loyalty.lua: a loyalty programme on the face (docs/hooks.md).
-- A visit counts at most once per window; each counted visit earns points; points make the tier.
-- Settings (PATCH /v1/tenant {"settings":{"loyalty":{...}}}):
--   window_seconds = 14400     a new visit only after this long (0: every recognition is a visit)
--   points_per_visit = 10
--   tiers = {{"bronze", 0}, {"silver", 100}, {"gold", 300}}   name and the points it starts at

local function settings(ev)
  local s = ev.request.settings.loyalty or {}
  return {
    window = tonumber(s.window_seconds) or 4 * 3600,
    points = tonumber(s.points_per_visit) or 10,
    tiers = s.tiers or { { "bronze", 0 }, { "silver", 100 }, { "gold", 300 } },
  }
end

local function tier_of(tiers, points)
  local name = tiers[1][1]
  for _, t in ipairs(tiers) do
    if points >= t[2] then name = t[1] end
  end
  return name
end

function on_recognized(ev)
  local s = settings(ev)
  local id = ev.person.id
  local last = dv.get(id, "last_visit")
  local visits, points = dv.get(id, "visits") or 0, dv.get(id, "points") or 0
  local counted = last == nil or ev.request.time - last >= s.window
  if counted then
    visits = dv.incr(id, "visits")
    points = dv.incr(id, "points", s.points)
    dv.set(id, "last_visit", ev.request.time)
  end
  local tier = tier_of(s.tiers, points)
  return {
    visit = visits,
    counted = counted,
    points = points,
    tier = tier,
    message = counted and ("Welcome back, " .. ev.person.name .. ", visit " .. visits .. "!")
      or ("Hello again, " .. ev.person.name .. "."),
  }
end

function on_unknown(ev)
  return { action = "offer_enrolment", message = "Join our loyalty programme: your face is your card." }
end

function on_enrolled(ev)
  return { points = dv.get(ev.person.id, "points") or 0, message = "Welcome to the programme, " .. ev.person.name .. "!" }
end
