//! The consumer's Lua scripts. Each runs atomically in Redis, so a consumer killed at any
//! moment leaves either nothing or the whole effect behind. [`redis::Script`] sends `EVALSHA`
//! and falls back to `EVAL` on `NOSCRIPT` (e.g. after a Redis restart).

use redis::Script;

/// Processes a batch. `KEYS`: stream, seen window (sorted set), processed list, processed
/// count. `ARGV`: group, seen window in ms, processed list length to keep (0: keep no list),
/// then one triple per entry: entry id, NM id (empty for entries that are only acknowledged:
/// markers, deleted entries), record JSON.
///
/// First the ids applied longer ago than the window are dropped from the seen window (`TIME`,
/// the server's clock, so consumers' clocks do not matter). Per entry: if it is no longer
/// pending in the group (another consumer claimed and applied it meanwhile), or its NM id is
/// already in the window, it is a duplicate; otherwise `ZADD seen NX <now> <id>` and `RPUSH
/// processed <record>`; then `XACK`. Finally the list is trimmed to its length, the count
/// raised by the records appended and the window's expiry renewed. Returns one number per
/// entry: 1 processed, 0 duplicate, 2 only acknowledged.
pub const PROCESS_BATCH: &str = r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local window = tonumber(ARGV[2])
local keep = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. string.format('%.0f', now - window))
local results = {}
local applied = 0
for i = 4, #ARGV, 3 do
  local entry, id, record = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local result = 2
  if id ~= '' then
    result = 0
    local pending = redis.call('XPENDING', KEYS[1], ARGV[1], entry, entry, 1)
    if #pending > 0 and redis.call('ZADD', KEYS[2], 'NX', string.format('%.0f', now), id) == 1 then
      if keep > 0 then
        redis.call('RPUSH', KEYS[3], record)
      end
      applied = applied + 1
      result = 1
    end
  end
  redis.call('XACK', KEYS[1], ARGV[1], entry)
  results[#results + 1] = result
end
if applied > 0 then
  if keep > 0 then
    redis.call('LTRIM', KEYS[3], -keep, -1)
  end
  redis.call('INCRBY', KEYS[4], applied)
  redis.call('PEXPIRE', KEYS[2], window)
end
return results
";

/// Moves one pending entry to the dead-letter stream. `KEYS`: stream, dead-letter stream.
/// `ARGV`: group, entry id, reason, then the entry's field/value pairs. When the entry is still
/// pending in the group: `XADD <dead> * <fields…> source_id <entry id> reason <reason>`, then
/// `XACK`; returns 1. Returns 0 (and does nothing) when it is not pending any more.
pub const DEAD_LETTER: &str = r"
local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
if #pending == 0 then
  return 0
end
local fields = {}
for i = 4, #ARGV do
  fields[#fields + 1] = ARGV[i]
end
fields[#fields + 1] = 'source_id'
fields[#fields + 1] = ARGV[2]
fields[#fields + 1] = 'reason'
fields[#fields + 1] = ARGV[3]
redis.call('XADD', KEYS[2], '*', unpack(fields))
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
return 1
";

/// The two scripts, hashed once.
#[derive(Debug, Clone)]
pub struct Scripts {
    /// [`PROCESS_BATCH`].
    pub process_batch: Script,
    /// [`DEAD_LETTER`].
    pub dead_letter: Script,
}

impl Default for Scripts {
    fn default() -> Self {
        Self {
            process_batch: Script::new(PROCESS_BATCH),
            dead_letter: Script::new(DEAD_LETTER),
        }
    }
}
