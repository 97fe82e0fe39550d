-- SPDX-License-Identifier: Apache-2.0
-- wrk script for make bench-scan: each thread POSTs scans of its own slice
-- of distinct minted codes (CODES names a file of one code a line).
local threads = {}
local counter = 0

function setup(thread)
	thread:set("id", counter)
	counter = counter + 1
	table.insert(threads, thread)
end

function init(args)
	local nthreads = tonumber(os.getenv("WRK_THREADS") or "2")
	codes = {}
	local i = 0
	for line in io.lines(os.getenv("CODES")) do
		if i % nthreads == id then
			codes[#codes + 1] = line
		end
		i = i + 1
	end
	n = 0
	wrk.method = "POST"
	wrk.headers["Content-Type"] = "application/json"
end

function request()
	n = n + 1
	local c = codes[(n - 1) % #codes + 1]
	return wrk.format(nil, "/api/v1/scans", nil,
	    '{"code":"' .. c .. '","lat":31.23,"lon":121.47,"accuracy":30}')
end

function done(summary, latency, requests)
	local secs = summary.duration / 1e6
	io.write(string.format("RESULT rps=%.0f p50_ms=%.2f p99_ms=%.2f " ..
	    "requests=%d errors=%d non2xx=%d\n",
	    summary.requests / secs, latency:percentile(50) / 1000,
	    latency:percentile(99) / 1000, summary.requests,
	    summary.errors.connect + summary.errors.read +
	    summary.errors.write + summary.errors.timeout,
	    summary.errors.status))
end
