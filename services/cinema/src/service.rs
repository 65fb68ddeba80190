//! [`Service`]: which of the four cinema services a process is.

use std::fmt;

/// One of the four services; each binary is one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    /// `movies`: `/movies`, `/movies/{id}`.
    Movies,
    /// `showtimes`: `/showtimes`, `/showtimes/{date}`, `DELETE /showtimes/{id}`.
    Showtimes,
    /// `bookings`: `/bookings`, `DELETE /bookings/{id}`.
    Bookings,
    /// `users`: `/users`, `DELETE /users/{id}`.
    Users,
}

impl Service {
    /// All four, in the order of the contract.
    pub const ALL: [Service; 4] = [
        Service::Movies,
        Service::Showtimes,
        Service::Bookings,
        Service::Users,
    ];

    /// The binary, collection and metrics name: `movies`, `showtimes`, `bookings`, `users`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Movies => "movies",
            Self::Showtimes => "showtimes",
            Self::Bookings => "bookings",
            Self::Users => "users",
        }
    }

    /// The environment prefix: `MOVIES__PORT` sets `port` of the movies service.
    pub const fn env_prefix(self) -> &'static str {
        match self {
            Self::Movies => "MOVIES",
            Self::Showtimes => "SHOWTIMES",
            Self::Bookings => "BOOKINGS",
            Self::Users => "USERS",
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
