-- wrk script: POST one image file as the raw body, Content-Type image/png, on every request.
--
--   wrk -t2 -c8 -d20s --latency -s bench/wrk/post-image.lua \
--       'http://127.0.0.1:8080/v1/classify?model=mnist&purifier=vae' -- docs/examples/digit.png
--
-- The file is the first script argument (after `--`), or $WRK_BODY_FILE. The content type can
-- be changed with $WRK_CONTENT_TYPE; $WRK_API_KEY, when set, is sent as X-API-Key. The URL
-- (with its query) is wrk's own argument.
--
-- At the end it prints one machine-readable line (scripts/load.sh parses it):
--   LOAD-RESULT requests=N duration_us=N rps=F p50_ms=F p90_ms=F p99_ms=F max_ms=F
--               non2xx=N connect_errors=N read_errors=N write_errors=N timeouts=N statuses=200:N,503:N
-- `non2xx` counts every response whose status is not 2xx (wrk's own "Non-2xx or 3xx" counter
-- does not count 3xx); `statuses` is the breakdown by status code over all threads.

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

local function read_file(path)
   local f, err = io.open(path, "rb")
   if not f then
      error("post-image.lua: cannot open '" .. tostring(path) .. "': " .. tostring(err))
   end
   local data = f:read("*a")
   f:close()
   if #data == 0 then error("post-image.lua: '" .. path .. "' is empty") end
   return data
end

function init(args)
   local path = args[1] or os.getenv("WRK_BODY_FILE")
   if not path then error("post-image.lua: give the image file after '--' or in WRK_BODY_FILE") end
   wrk.method = "POST"
   wrk.body = read_file(path)
   wrk.headers["Content-Type"] = os.getenv("WRK_CONTENT_TYPE") or "image/png"
   local key = os.getenv("WRK_API_KEY")
   if key and #key > 0 then wrk.headers["X-API-Key"] = key end
   statuses = {}   -- global: read from done() with thread:get
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
   local counts = {}
   for _, thread in ipairs(threads) do
      local s = thread:get("statuses")
      if s then
         for code, n in pairs(s) do counts[code] = (counts[code] or 0) + n end
      end
   end
   local codes, non2xx = {}, 0
   for code, n in pairs(counts) do
      table.insert(codes, code)
      if code < 200 or code > 299 then non2xx = non2xx + n end
   end
   table.sort(codes)
   local parts = {}
   for _, code in ipairs(codes) do table.insert(parts, code .. ":" .. counts[code]) end
   local e = summary.errors
   local rps = summary.duration > 0 and summary.requests / (summary.duration / 1e6) or 0
   io.write(string.format(
      "LOAD-RESULT requests=%d duration_us=%d rps=%.2f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f " ..
      "non2xx=%d connect_errors=%d read_errors=%d write_errors=%d timeouts=%d statuses=%s\n",
      summary.requests, summary.duration, rps,
      latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
      non2xx, e.connect, e.read, e.write, e.timeout, #parts > 0 and table.concat(parts, ",") or "none"))
end
