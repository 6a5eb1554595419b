-- Sets `ARGV[1]` to `ARGV[2]` units (0 removes it), with the same bounds as [`ADD`]. Returns
-- `{status, quantity before, lines}`, lines as HGETALL gives them.
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local wanted = tonumber(ARGV[2])
if wanted == 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return {1, current, redis.call('HGETALL', KEYS[1])}
end
if current == 0 and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[5]) then
  return {-1, current, redis.call('HGETALL', KEYS[1])}
end
if wanted > tonumber(ARGV[3]) and wanted > current then
  return {0, current, redis.call('HGETALL', KEYS[1])}
end
redis.call('HSET', KEYS[1], ARGV[1], wanted)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {1, current, redis.call('HGETALL', KEYS[1])}
