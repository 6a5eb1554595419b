-- Moves the lines of `KEYS[2]` into `KEYS[1]`: each line's quantity becomes the sum, capped by
-- the cap given for it (`ARGV[3..]`, pairs of variant and cap); lines past `ARGV[2]` lines are
-- dropped. Deletes `KEYS[2]`. Returns how many lines changed.
local caps = {}
for i = 3, #ARGV, 2 do caps[ARGV[i]] = tonumber(ARGV[i + 1]) end
local from = redis.call('HGETALL', KEYS[2])
local changed = 0
for i = 1, #from, 2 do
  local variant, quantity = from[i], tonumber(from[i + 1])
  local current = tonumber(redis.call('HGET', KEYS[1], variant) or '0')
  local cap = caps[variant] or 0
  local wanted = math.min(current + quantity, cap)
  if wanted > current and (current > 0 or redis.call('HLEN', KEYS[1]) < tonumber(ARGV[2])) then
    redis.call('HSET', KEYS[1], variant, wanted)
    changed = changed + 1
  end
end
redis.call('DEL', KEYS[2])
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return changed
