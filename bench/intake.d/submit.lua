-- wrk script: every request is a new, valid form submission from a new customer, with
-- its own idempotency key; counts the 303 "received" answers.
-- Arguments: the departure date, and optionally "honeypot": the same requests with the
-- form's hidden trap field filled, which Muster answers 303 after parsing and checking
-- the form, without writing anything (the HTTP stack's own limit for this request).
local counter = 0
local thread_id = 0
accepted = 0
local threads = {}

function setup(thread)
  thread_id = thread_id + 1
  thread:set("id", thread_id)
  table.insert(threads, thread)
end

function init(args)
  departure = args[1]
  trap = (args[2] == "honeypot") and "&website=bot" or ""
  math.randomseed(os.time() + id * 7919)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end

local function hex64()
  local parts = {}
  for i = 1, 8 do parts[i] = string.format("%08x", math.random(0, 0x7fffffff)) end
  return table.concat(parts)
end

function request()
  counter = counter + 1
  local n = id .. "x" .. counter .. "x" .. math.random(0, 0x7fffffff)
  local body = "name=Bench+Customer&email=c" .. n .. "%40example.com&phone=&booking_ref=" .. string.format("BK%07X%d", math.random(0, 0xfffffff), counter % 100000)
    .. "&departure_date=" .. departure .. "&request_type=refund&message=Please+refund+my+ticket&language=en"
    .. "&idempotency_key=" .. hex64() .. trap
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  if status == 303 then accepted = accepted + 1 end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("accepted") end
  io.write(string.format("ACCEPTED %d\n", total))
  io.write(string.format("P50_MS %.2f\nP99_MS %.2f\n", latency:percentile(50) / 1000, latency:percentile(99) / 1000))
  io.write(string.format("SECONDS %.3f\n", summary.duration / 1e6))
end
