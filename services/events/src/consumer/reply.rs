//! The Redis replies the consumer reads, parsed: stream entries (`XREADGROUP`, `XAUTOCLAIM`)
//! and the delivery count of a pending entry (`XPENDING`). Both RESP2 arrays and RESP3 maps
//! are understood; anything else is a protocol error naming the part that did not fit.

use redis::{RedisResult, Value};

/// One stream entry as read; `fields` is `None` for an entry deleted from the stream while it
/// was pending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The entry id.
    pub id: String,
    /// Its field/value pairs.
    pub fields: Option<Vec<(Vec<u8>, Vec<u8>)>>,
}

impl Entry {
    /// The value of the field `name`, if the entry has it.
    pub fn field(&self, name: &str) -> Option<&[u8]> {
        self.fields
            .as_ref()?
            .iter()
            .find(|(field, _)| field == name.as_bytes())
            .map(|(_, value)| value.as_slice())
    }
}

fn protocol_error(what: &str, value: &Value) -> redis::RedisError {
    redis::RedisError::from((
        redis::ErrorKind::TypeError,
        "unexpected reply",
        format!("{what}: {value:?}"),
    ))
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::BulkString(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
        Value::SimpleString(text) => Some(text.clone()),
        Value::VerbatimString { text, .. } => Some(text.clone()),
        _ => None,
    }
}

fn bytes(value: &Value) -> Option<Vec<u8>> {
    match value {
        Value::BulkString(bytes) => Some(bytes.clone()),
        Value::SimpleString(text) => Some(text.as_bytes().to_vec()),
        Value::Int(n) => Some(n.to_string().into_bytes()),
        _ => None,
    }
}

/// Parses the entries of one stream: `[[id, [field, value, …] | nil], …]`.
pub fn parse_entries(value: &Value) -> RedisResult<Vec<Entry>> {
    let items = match value {
        Value::Nil => return Ok(Vec::new()),
        Value::Array(items) => items,
        other => return Err(protocol_error("stream entries", other)),
    };
    let mut entries = Vec::with_capacity(items.len());
    for item in items {
        let Value::Array(pair) = item else {
            return Err(protocol_error("stream entry", item));
        };
        let id = pair
            .first()
            .and_then(text)
            .ok_or_else(|| protocol_error("stream entry id", item))?;
        let fields = match pair.get(1) {
            None | Some(Value::Nil) => None,
            Some(Value::Array(flat)) => Some(
                flat.chunks(2)
                    .filter_map(|chunk| Some((bytes(chunk.first()?)?, bytes(chunk.get(1)?)?)))
                    .collect(),
            ),
            Some(Value::Map(map)) => Some(
                map.iter()
                    .filter_map(|(field, value)| Some((bytes(field)?, bytes(value)?)))
                    .collect(),
            ),
            Some(other) => return Err(protocol_error("stream entry fields", other)),
        };
        entries.push(Entry { id, fields });
    }
    Ok(entries)
}

/// Parses an `XREADGROUP` reply for one stream (nil when the block timed out).
pub fn parse_read_reply(value: &Value) -> RedisResult<Vec<Entry>> {
    match value {
        Value::Nil => Ok(Vec::new()),
        Value::Array(streams) => {
            let mut entries = Vec::new();
            for stream in streams {
                match stream {
                    Value::Array(pair) if pair.len() == 2 => {
                        entries.extend(parse_entries(&pair[1])?);
                    }
                    other => return Err(protocol_error("XREADGROUP stream", other)),
                }
            }
            Ok(entries)
        }
        Value::Map(streams) => {
            let mut entries = Vec::new();
            for (_, stream_entries) in streams {
                entries.extend(parse_entries(stream_entries)?);
            }
            Ok(entries)
        }
        other => Err(protocol_error("XREADGROUP", other)),
    }
}

/// Parses an `XAUTOCLAIM` reply: next cursor, claimed entries, deleted ids.
pub fn parse_autoclaim_reply(value: &Value) -> RedisResult<(String, Vec<Entry>, Vec<String>)> {
    let Value::Array(parts) = value else {
        return Err(protocol_error("XAUTOCLAIM", value));
    };
    let next = parts
        .first()
        .and_then(text)
        .ok_or_else(|| protocol_error("XAUTOCLAIM cursor", value))?;
    let entries = match parts.get(1) {
        Some(claimed) => parse_entries(claimed)?
            .into_iter()
            .filter(|entry| entry.fields.is_some())
            .collect(),
        None => Vec::new(),
    };
    let deleted = match parts.get(2) {
        Some(Value::Array(ids)) => ids.iter().filter_map(text).collect(),
        _ => Vec::new(),
    };
    Ok((next, entries, deleted))
}

/// The delivery count in an extended `XPENDING` reply for one id (0 when not pending).
pub fn parse_delivery_count(value: &Value) -> u64 {
    let Value::Array(rows) = value else {
        return 0;
    };
    rows.first()
        .and_then(|row| match row {
            Value::Array(fields) => fields.get(3),
            _ => None,
        })
        .and_then(|count| match count {
            Value::Int(n) => u64::try_from(*n).ok(),
            other => text(other)?.parse().ok(),
        })
        .unwrap_or(0)
}

/// An entry with these fields, for tests.
#[cfg(test)]
pub(crate) fn entry(id: &str, fields: &[(&str, &str)]) -> Entry {
    Entry {
        id: id.to_owned(),
        fields: Some(
            fields
                .iter()
                .map(|(f, v)| (f.as_bytes().to_vec(), v.as_bytes().to_vec()))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(text: &str) -> Value {
        Value::BulkString(text.as_bytes().to_vec())
    }

    #[test]
    fn read_replies_with_deleted_entries_parse() {
        let reply = Value::Array(vec![Value::Array(vec![
            bulk("s"),
            Value::Array(vec![
                Value::Array(vec![bulk("1-0"), Value::Array(vec![bulk("f"), bulk("v")])]),
                Value::Array(vec![bulk("2-0"), Value::Nil]),
            ]),
        ])]);
        let entries = parse_read_reply(&reply).unwrap();
        assert_eq!(
            entries,
            vec![
                entry("1-0", &[("f", "v")]),
                Entry {
                    id: "2-0".to_owned(),
                    fields: None
                }
            ]
        );
        assert!(parse_read_reply(&Value::Nil).unwrap().is_empty());
    }

    #[test]
    fn autoclaim_and_pending_replies_parse() {
        let reply = Value::Array(vec![
            bulk("0-0"),
            Value::Array(vec![Value::Array(vec![
                bulk("1-0"),
                Value::Array(vec![bulk("f"), bulk("v")]),
            ])]),
            Value::Array(vec![bulk("3-0")]),
        ]);
        let (next, entries, deleted) = parse_autoclaim_reply(&reply).unwrap();
        assert_eq!(next, "0-0");
        assert_eq!(entries, vec![entry("1-0", &[("f", "v")])]);
        assert_eq!(deleted, vec!["3-0".to_owned()]);
        let pending = Value::Array(vec![Value::Array(vec![
            bulk("1-0"),
            bulk("c"),
            Value::Int(10),
            Value::Int(3),
        ])]);
        assert_eq!(parse_delivery_count(&pending), 3);
        assert_eq!(parse_delivery_count(&Value::Array(vec![])), 0);
    }
}
