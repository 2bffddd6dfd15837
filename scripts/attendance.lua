-- attendance.lua: classroom attendance (docs/hooks.md).
-- A person is marked present once per session: the request's fields.session (e.g. "maths-2026-11-28-09"), or
-- else the camera (or location) and the day. The report of who attended a session:
--   GET /v1/state?namespace=attendance&key=SESSION

local function session_of(ev)
  local f = ev.request.fields
  if type(f.session) == "string" and #f.session > 0 then return f.session end
  local room = ev.request.camera or ev.request.location or "class"
  return room .. ":" .. dv.date("%Y-%m-%d", ev.request.time)
end

function on_recognized(ev)
  local session = session_of(ev)
  local mark = dv.get(ev.person.id, session)
  local now = mark == nil
  if now then
    mark = { time = dv.date("%Y-%m-%dT%H:%M:%SZ", ev.request.time), location = ev.request.location }
    dv.set(ev.person.id, session, mark)
  end
  return { session = session, present = true, marked_now = now, since = mark.time }
end
