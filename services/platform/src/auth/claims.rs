//! Who a token is for ([`Audience`], [`Claims`]) and minting one ([`issue`], [`parse_ttl`]).

#[allow(clippy::wildcard_imports)]
use super::*;

/// The services a token can be for: its `aud` claim names one or several of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Audience {
    /// The users REST service.
    Accountd,
    /// `POST /event`.
    EventProducer,
    /// The cinema movies service.
    Movies,
    /// The cinema showtimes service.
    Showtimes,
    /// The cinema bookings service.
    Bookings,
    /// The cinema users service.
    Users,
}

impl Audience {
    /// Every audience.
    pub const ALL: [Audience; 6] = [
        Audience::Accountd,
        Audience::EventProducer,
        Audience::Movies,
        Audience::Showtimes,
        Audience::Bookings,
        Audience::Users,
    ];

    /// The four cinema services (what `CINEMA_TOKEN` is minted for).
    pub const CINEMA: [Audience; 4] = [
        Audience::Movies,
        Audience::Showtimes,
        Audience::Bookings,
        Audience::Users,
    ];

    /// The name in `aud`: the binary's name (`accountd`, `event-producer`, `movies`, …).
    pub const fn as_str(self) -> &'static str {
        match self {
            Audience::Accountd => "accountd",
            Audience::EventProducer => "event-producer",
            Audience::Movies => "movies",
            Audience::Showtimes => "showtimes",
            Audience::Bookings => "bookings",
            Audience::Users => "users",
        }
    }
}

impl fmt::Display for Audience {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Audience {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Audience::ALL
            .into_iter()
            .find(|audience| audience.as_str() == text.trim())
            .ok_or_else(|| {
                let names: Vec<_> = Audience::ALL.iter().map(|a| a.as_str()).collect();
                format!("unknown audience {text:?}: one of {}", names.join(", "))
            })
    }
}

/// The claims of a MockVideo token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Who the token was issued to (an operator or a tool).
    pub sub: String,
    /// The services it is for (`aud`: one string, or an array for several).
    #[serde(default, with = "one_or_many")]
    pub aud: Vec<String>,
    /// Who issued it (`iss`).
    #[serde(default)]
    pub iss: String,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
    /// Issued at, seconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    /// Not before, seconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
}

impl Claims {
    /// Claims for `subject` and `audiences`, issued by `issuer` now and valid for `ttl`.
    pub fn new(subject: &str, audiences: &[Audience], issuer: &str, ttl: Duration) -> Self {
        let iat = now_secs();
        Self {
            sub: subject.to_owned(),
            aud: audiences.iter().map(|a| a.as_str().to_owned()).collect(),
            iss: issuer.to_owned(),
            exp: iat.saturating_add(ttl.as_secs()),
            iat: Some(iat),
            nbf: None,
        }
    }
}

/// `aud` as JSON: one string for one audience, else an array; both are read.
mod one_or_many {
    use super::*;

    pub fn serialize<S: Serializer>(
        audiences: &[String],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match audiences {
            [one] => serializer.serialize_str(one),
            many => many.serialize(serializer),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<String>, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            One(String),
            Many(Vec<String>),
        }
        match OneOrMany::deserialize(deserializer)
            .map_err(|_| de::Error::custom("`aud` must be a string or an array of strings"))?
        {
            OneOrMany::One(one) => Ok(vec![one]),
            OneOrMany::Many(many) => Ok(many),
        }
    }
}

/// Seconds since the Unix epoch now.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// A token carrying exactly `claims`, signed (HS256) with `secret`: what `mockvideo-token`
/// prints.
pub fn issue(secret: &SecretString, claims: &Claims) -> String {
    let key = EncodingKey::from_secret(secret.expose_secret().as_bytes());
    // Signing can only fail on a key of another family than the header's algorithm or claims
    // that do not serialise to JSON; neither can happen with an HMAC key and these claims.
    #[allow(clippy::expect_used)]
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &key)
        .expect("HS256 signing of plain claims cannot fail")
}

/// Parses a token lifetime as [`crate::http::parse_duration`] does (`90s`, `15m`, `12h`, `7d`,
/// or a bare number of seconds). Zero is refused.
pub fn parse_ttl(text: &str) -> Result<Duration, String> {
    match crate::http::parse_duration(text)? {
        lifetime if lifetime.is_zero() => Err("the lifetime must be greater than zero".to_owned()),
        lifetime => Ok(lifetime),
    }
}
