-- wrk script for bench/webhook_ingest.py: POST pre-signed bodies read from a file, one per line.
--
-- Usage: wrk -t T -c C -d D -s bench/webhook_ingest.lua URL -- BODIES_FILE T
-- Thread i of T sends lines i, i+T, i+2T, ... in order, so with enough lines every body is
-- sent at most once; a thread that runs out starts its slice again and counts it in `wrapped`
-- (the bench fails the run when the receiver saw a wrapped, i.e. repeated, body).
-- done() prints one line "WRKJSON {...}" with counts and latency percentiles (microseconds).

local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

function init(args)
  bodies = {}
  local path = args[1]
  local total = tonumber(args[2])
  local n = 0
  for line in io.lines(path) do
    if n % total == id then
      bodies[#bodies + 1] = line
    end
    n = n + 1
  end
  index = 0
  sent = 0
  wrapped = 0
  accepted = 0
  statuses = {}
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  index = index + 1
  if index > #bodies then
    index = 1
    wrapped = wrapped + 1
  end
  sent = sent + 1
  return wrk.format(nil, nil, nil, bodies[index])
end

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
  if status == 200 and string.find(body, '"accepted"', 1, true) then
    accepted = accepted + 1
  end
end

function done(summary, latency, requests)
  local sent_total, wrapped_total, accepted_total = 0, 0, 0
  local merged = {}
  for _, thread in ipairs(threads) do
    sent_total = sent_total + thread:get("sent")
    wrapped_total = wrapped_total + thread:get("wrapped")
    accepted_total = accepted_total + thread:get("accepted")
    for status, n in pairs(thread:get("statuses")) do
      merged[status] = (merged[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(merged) do
    parts[#parts + 1] = string.format('"%s": %d', status, n)
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"duration_us": %d, "completed": %d, "sent": %d, "accepted": %d, "wrapped": %d, '
      .. '"statuses": {%s}, "errors": {"connect": %d, "read": %d, "write": %d, "status": %d, '
      .. '"timeout": %d}, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.duration, summary.requests, sent_total, accepted_total, wrapped_total,
    table.concat(parts, ", "), e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max
  ))
end
