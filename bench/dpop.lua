-- wrk script for bench/dpop: every request carries `Authorization: DPoP <token>` (the token
-- from $BENCH_TOKEN) and the next DPoP proof of this thread's own file, $BENCH_PROOFS.<n>
-- for wrk thread n (one proof a line), so no two requests of a run share a proof. A
-- thread that runs out starts its file again: those are replays, which a DPoP location
-- refuses, so the run shows non-2xx answers; done() also prints each thread's counts
-- ("dpop-thread <n> proofs <in file> sent <requests built>") for bench/dpop to check.
local proofs = {}
local auth

function setup(thread)
  setup_n = (setup_n or 0) + 1
  thread:set("id", setup_n)
  threads = threads or {}
  threads[#threads + 1] = thread
end

function init(args)
  local f = assert(io.open(os.getenv("BENCH_TOKEN")))
  auth = "DPoP " .. f:read("*l")
  f:close()
  -- "id" is set by setup() above in this thread's Lua state before init runs.
  for line in io.lines(os.getenv("BENCH_PROOFS") .. "." .. (id or 1)) do
    if #line > 0 then proofs[#proofs + 1] = line end
  end
  loaded = #proofs
  sent = 0
end

request = function()
  sent = sent + 1
  return wrk.format("GET", wrk.path,
                    { ["Authorization"] = auth, ["DPoP"] = proofs[(sent - 1) % loaded + 1] })
end

function done(summary, latency, requests)
  for _, t in ipairs(threads) do
    io.write(string.format("dpop-thread %d proofs %d sent %d\n", t:get("id"), t:get("loaded"), t:get("sent")))
  end
end
