-- wrk reporter: one JSON line with requests/s, latency percentiles (ms) and error counts.
-- summary.errors.status counts responses outside 2xx/3xx. Optional request body and method come from the environment (WRK_METHOD, WRK_BODY).
-- WRK_PAUSE_MS paces each connection: it waits that long after every response before its next request (a
-- user's think time), so the load is a steady rate rather than as fast as the server answers.
local method = os.getenv("WRK_METHOD")
local body = os.getenv("WRK_BODY")
local pause = tonumber(os.getenv("WRK_PAUSE_MS") or "0")
if method then wrk.method = method end
if body then wrk.body = body end
if pause > 0 then
  delay = function() return pause end
end

done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format(
    'WRK_JSON {"requests": %d, "seconds": %.3f, "rps": %.1f, "p50_ms": %.2f, "p95_ms": %.2f, "p99_ms": %.2f, ' ..
    '"socket_errors": %d, "non_2xx": %d}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    errors, summary.errors.status))
end
