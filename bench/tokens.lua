-- wrk script: every request carries the next bearer token from $BENCH_TOKENS (one per
-- line), cycling; each wrk thread starts at a different offset so the threads do not
-- send the same token at the same time.
local tokens = {}
local i = 0

function init(args)
  for line in io.lines(os.getenv("BENCH_TOKENS")) do
    if #line > 0 then tokens[#tokens + 1] = "Bearer " .. line end
  end
  -- "id" is set by setup() below in this thread's Lua state before init runs.
  local threads = tonumber(os.getenv("BENCH_THREADS") or "2")
  i = math.floor(#tokens * ((id or 1) - 1) / threads)
end

function setup(thread)
  setup_n = (setup_n or 0) + 1
  thread:set("id", setup_n)
end

request = function()
  i = i + 1
  if i > #tokens then i = 1 end
  return wrk.format("GET", wrk.path, { ["Authorization"] = tokens[i] })
end
