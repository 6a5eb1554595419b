-- Adds `ARGV[2]` units of `ARGV[1]` unless the line would exceed `ARGV[3]` or the cart would
-- exceed `ARGV[5]` lines. Returns `{status, quantity, lines}`: status 1 done (quantity after), 0 over
-- the line cap (quantity now), -1 too many lines;
-- lines as HGETALL gives them, after the change.
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if current == 0 and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[5]) then
  return {-1, 0, redis.call('HGETALL', KEYS[1])}
end
local wanted = current + tonumber(ARGV[2])
if wanted > tonumber(ARGV[3]) then
  return {0, current, redis.call('HGETALL', KEYS[1])}
end
redis.call('HSET', KEYS[1], ARGV[1], wanted)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {1, wanted, redis.call('HGETALL', KEYS[1])}
