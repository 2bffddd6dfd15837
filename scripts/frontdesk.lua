-- frontdesk.lua: a zero-touch front desk (docs/hooks.md).
-- A known visitor is greeted by name (with when they were last seen); for an unknown face the reply tells the
-- client to offer enrolment. Settings (PATCH /v1/tenant {"settings":{"frontdesk":{...}}}):
--   welcome = "Welcome"     the greeting's first word
--   site = "the office"     where the visitor is

local function settings(ev)
  return ev.request.settings.frontdesk or {}
end

function on_recognized(ev)
  local s = settings(ev)
  local last = dv.get(ev.person.id, "last_seen")
  dv.set(ev.person.id, "last_seen", ev.request.time)
  local reply = {
    greeting = (s.welcome or "Welcome") .. ", " .. ev.person.name .. "!",
    person = ev.person.name,
  }
  if last then
    reply.last_seen = dv.date("%Y-%m-%dT%H:%M:%SZ", last)
  end
  return reply
end

function on_unknown(ev)
  return {
    action = "offer_enrolment",
    message = "Hello! You are new at " .. (settings(ev).site or "the office") .. ". Would you like to register?",
  }
end

function on_enrolled(ev)
  dv.set(ev.person.id, "last_seen", ev.request.time)
  return { greeting = "Welcome, " .. ev.person.name .. "! You are registered." }
end
