//! Toxics as data: their kinds and attributes, their direction and toxicity, and their wire form
//! (Toxiproxy's JSON: `{"name", "type", "stream", "toxicity", "attributes": {..}}`, where every
//! field but `type` may be left out and absent attributes are 0).
//!
//! What a toxic *does* to a connection is [`crate::link`]'s business.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::ProxyError;

/// The largest time attribute accepted, in milliseconds (a year): longer waits are a mistake, and
/// bounding them keeps every deadline computable.
const MAX_MILLIS: u64 = 365 * 24 * 3600 * 1000;

/// Which way the bytes a toxic acts on flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// From the client to the upstream server.
    Upstream,
    /// From the upstream server to the client (Toxiproxy's default).
    Downstream,
}

impl Direction {
    /// The direction as Toxiproxy spells it: `upstream` or `downstream`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Upstream => "upstream",
            Direction::Downstream => "downstream",
        }
    }

    fn parse(stream: &str) -> Result<Self, ProxyError> {
        match stream.to_ascii_lowercase().as_str() {
            "upstream" => Ok(Direction::Upstream),
            "downstream" => Ok(Direction::Downstream),
            _ => Err(ProxyError::Invalid(format!(
                "stream was invalid, can be either upstream or downstream: got {stream:?}"
            ))),
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a toxic does, with its attributes (Toxiproxy's names and units).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "attributes", rename_all = "snake_case")]
pub enum ToxicKind {
    /// Delays every chunk by `latency` ms, give or take up to `jitter` ms.
    Latency {
        /// The delay, in ms.
        #[serde(default)]
        latency: u64,
        /// The most the delay varies either way, in ms.
        #[serde(default)]
        jitter: u64,
    },
    /// Caps the throughput at `rate` KB/s (0: no cap).
    Bandwidth {
        /// The rate, in KB (1000 bytes) per second.
        #[serde(default)]
        rate: u64,
    },
    /// Delays the close of the connection by `delay` ms.
    SlowClose {
        /// The delay, in ms.
        #[serde(default)]
        delay: u64,
    },
    /// Passes no data; closes the connection after `timeout` ms (0: holds it open for ever).
    Timeout {
        /// The time-out, in ms.
        #[serde(default)]
        timeout: u64,
    },
    /// At the first data, drops it, waits `timeout` ms and resets the connection (TCP RST).
    ResetPeer {
        /// The wait before the reset, in ms.
        #[serde(default)]
        timeout: u64,
    },
    /// Splits chunks into writes of about `average_size` bytes (± `size_variation`), `delay` µs
    /// apart.
    Slicer {
        /// The average size of a write, in bytes.
        #[serde(default)]
        average_size: u64,
        /// How much a write's size varies either way, in bytes.
        #[serde(default)]
        size_variation: u64,
        /// The pause between writes, in µs.
        #[serde(default)]
        delay: u64,
    },
    /// Closes the connection once `bytes` bytes have passed.
    LimitData {
        /// How many bytes pass before the close.
        #[serde(default)]
        bytes: u64,
    },
}

/// The toxic types, as the wire names them.
const TYPES: &str = "latency, bandwidth, slow_close, timeout, reset_peer, slicer, limit_data";

impl ToxicKind {
    /// The type as Toxiproxy names it, e.g. `slow_close`.
    pub fn type_name(&self) -> &'static str {
        match self {
            ToxicKind::Latency { .. } => "latency",
            ToxicKind::Bandwidth { .. } => "bandwidth",
            ToxicKind::SlowClose { .. } => "slow_close",
            ToxicKind::Timeout { .. } => "timeout",
            ToxicKind::ResetPeer { .. } => "reset_peer",
            ToxicKind::Slicer { .. } => "slicer",
            ToxicKind::LimitData { .. } => "limit_data",
        }
    }

    /// The kind named `type_name` with `attributes` (absent ones are 0); an unknown type, or an
    /// attribute that is not a non-negative integer in range, is refused, named.
    fn from_attributes(
        type_name: &str,
        attributes: &Map<String, Value>,
    ) -> Result<Self, ProxyError> {
        let get = |key: &str, max: u64| attribute(attributes, type_name, key, max);
        Ok(match type_name {
            "latency" => ToxicKind::Latency {
                latency: get("latency", MAX_MILLIS)?,
                jitter: get("jitter", MAX_MILLIS)?,
            },
            "bandwidth" => ToxicKind::Bandwidth {
                rate: get("rate", u64::MAX)?,
            },
            "slow_close" => ToxicKind::SlowClose {
                delay: get("delay", MAX_MILLIS)?,
            },
            "timeout" => ToxicKind::Timeout {
                timeout: get("timeout", MAX_MILLIS)?,
            },
            "reset_peer" => ToxicKind::ResetPeer {
                timeout: get("timeout", MAX_MILLIS)?,
            },
            "slicer" => ToxicKind::Slicer {
                average_size: get("average_size", u64::MAX)?,
                size_variation: get("size_variation", u64::MAX)?,
                delay: get("delay", MAX_MILLIS.saturating_mul(1000))?,
            },
            "limit_data" => ToxicKind::LimitData {
                bytes: get("bytes", u64::MAX)?,
            },
            other => {
                return Err(ProxyError::Invalid(format!(
                    "invalid toxic type {other:?}: expected one of {TYPES}"
                )))
            }
        })
    }

    /// The attributes as the wire has them.
    fn attributes(&self) -> Map<String, Value> {
        match serde_json::to_value(self) {
            Ok(Value::Object(mut object)) => match object.remove("attributes") {
                Some(Value::Object(attributes)) => attributes,
                _ => Map::new(),
            },
            _ => Map::new(),
        }
    }

    /// Refuses attributes out of range (what a Rust caller can build but the wire cannot carry).
    fn validate(&self) -> Result<(), ProxyError> {
        Self::from_attributes(self.type_name(), &self.attributes()).map(|_| ())
    }
}

/// The attribute `key` of a `type_name` toxic: 0 when absent, else a non-negative integer up to
/// `max`.
fn attribute(
    attributes: &Map<String, Value>,
    type_name: &str,
    key: &str,
    max: u64,
) -> Result<u64, ProxyError> {
    match attributes.get(key) {
        None | Some(Value::Null) => Ok(0),
        Some(value) => value.as_u64().filter(|number| *number <= max).ok_or_else(|| {
            ProxyError::Invalid(format!(
                "attribute {key:?} of a {type_name} toxic must be an integer from 0 to {max}, got {value}"
            ))
        }),
    }
}

/// One toxic on a proxy: what it does, which way, to what share of the connections.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ToxicWire")]
pub struct Toxic {
    /// Unique on its proxy; by default `<type>_<stream>`, e.g. `latency_downstream`.
    pub name: String,
    /// The direction it acts on.
    pub stream: Direction,
    /// The share of connections it applies to, 0 to 1 (drawn per connection); 1 by default.
    pub toxicity: f32,
    /// What it does (`type` and `attributes` on the wire).
    #[serde(flatten)]
    pub kind: ToxicKind,
}

impl Toxic {
    /// A toxic named `<type>_<stream>`, applying to every connection.
    pub fn new(kind: ToxicKind, stream: Direction) -> Self {
        Toxic {
            name: format!("{}_{}", kind.type_name(), stream),
            stream,
            toxicity: 1.0,
            kind,
        }
    }

    /// Refuses an empty name, a toxicity outside 0..=1 and attributes out of range.
    pub(crate) fn validate(&self) -> Result<(), ProxyError> {
        if self.name.is_empty() {
            return Err(ProxyError::Invalid(
                "a toxic's name must not be empty".to_owned(),
            ));
        }
        check_toxicity(f64::from(self.toxicity))?;
        self.kind.validate()
    }

    /// This toxic with a patch applied, as Toxiproxy updates: the given attributes over the
    /// current ones, the toxicity if given; the name, type and stream stay.
    pub(crate) fn patched(&self, patch: ToxicPatch) -> Result<Toxic, ProxyError> {
        let mut attributes = self.kind.attributes();
        attributes.extend(patch.attributes.unwrap_or_default());
        let kind = ToxicKind::from_attributes(self.kind.type_name(), &attributes)?;
        let toxicity = match patch.toxicity {
            Some(toxicity) => check_toxicity(toxicity)?,
            None => self.toxicity,
        };
        Ok(Toxic {
            kind,
            toxicity,
            ..self.clone()
        })
    }
}

fn check_toxicity(toxicity: f64) -> Result<f32, ProxyError> {
    if (0.0..=1.0).contains(&toxicity) {
        // In range, so the narrowing only rounds.
        Ok(toxicity as f32)
    } else {
        Err(ProxyError::Invalid(format!(
            "toxicity must be between 0 and 1, got {toxicity}"
        )))
    }
}

/// A toxic as a client may send it: everything but `type` optional.
#[derive(Deserialize)]
struct ToxicWire {
    name: Option<String>,
    #[serde(rename = "type")]
    type_name: Option<String>,
    stream: Option<String>,
    toxicity: Option<f64>,
    attributes: Option<Map<String, Value>>,
}

impl TryFrom<ToxicWire> for Toxic {
    type Error = ProxyError;

    fn try_from(wire: ToxicWire) -> Result<Self, Self::Error> {
        let type_name = wire
            .type_name
            .ok_or_else(|| ProxyError::Invalid("missing required field: type".to_owned()))?;
        let stream = match wire.stream.as_deref() {
            None | Some("") => Direction::Downstream,
            Some(stream) => Direction::parse(stream)?,
        };
        let kind = ToxicKind::from_attributes(&type_name, &wire.attributes.unwrap_or_default())?;
        let toxicity = check_toxicity(wire.toxicity.unwrap_or(1.0))?;
        let name = match wire.name {
            Some(name) if !name.is_empty() => name,
            _ => format!("{type_name}_{stream}"),
        };
        Ok(Toxic {
            name,
            stream,
            toxicity,
            kind,
        })
    }
}

/// An update to a toxic, as Toxiproxy takes it: new attributes (merged) and a new toxicity.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ToxicPatch {
    pub(crate) toxicity: Option<f64>,
    pub(crate) attributes: Option<Map<String, Value>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Toxic, String> {
        serde_json::from_str::<Toxic>(json).map_err(|error| error.to_string())
    }

    #[test]
    fn a_toxic_defaults_like_toxiproxy() {
        let toxic = parse(r#"{"type":"latency","attributes":{"latency":100}}"#).unwrap();
        assert_eq!(
            toxic,
            Toxic::new(
                ToxicKind::Latency {
                    latency: 100,
                    jitter: 0
                },
                Direction::Downstream
            )
        );
        assert_eq!(toxic.name, "latency_downstream");
    }

    #[test]
    fn a_toxic_serialises_to_toxiproxy_json() {
        let toxic = Toxic::new(ToxicKind::LimitData { bytes: 10 }, Direction::Upstream);
        let json = serde_json::to_value(&toxic).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "name": "limit_data_upstream", "stream": "upstream", "toxicity": 1.0,
                "type": "limit_data", "attributes": {"bytes": 10}
            })
        );
        assert_eq!(parse(&json.to_string()).unwrap(), toxic);
    }

    #[test]
    fn bad_toxics_are_refused_with_what_is_wrong() {
        assert!(parse(r#"{"type":"frobnicate"}"#)
            .unwrap_err()
            .contains("invalid toxic type"));
        assert!(parse(r#"{"type":"latency","attributes":{"latency":-5}}"#)
            .unwrap_err()
            .contains("\"latency\""));
        assert!(parse(r#"{"type":"latency","toxicity":1.5}"#)
            .unwrap_err()
            .contains("toxicity"));
        assert!(parse(r#"{"type":"latency","stream":"sideways"}"#)
            .unwrap_err()
            .contains("stream"));
        assert!(parse(r#"{"name":"x"}"#).unwrap_err().contains("type"));
    }

    #[test]
    fn a_patch_merges_attributes_and_keeps_the_rest() {
        let toxic = Toxic::new(
            ToxicKind::Latency {
                latency: 100,
                jitter: 5,
            },
            Direction::Upstream,
        );
        let patch: ToxicPatch = serde_json::from_str(r#"{"attributes":{"latency":200}}"#).unwrap();
        let patched = toxic.patched(patch).unwrap();
        assert_eq!(
            patched.kind,
            ToxicKind::Latency {
                latency: 200,
                jitter: 5
            }
        );
        assert_eq!(
            (patched.name.as_str(), patched.toxicity),
            ("latency_upstream", 1.0)
        );
    }
}
