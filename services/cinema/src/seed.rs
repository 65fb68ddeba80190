//! The seed data of contract §3.3 (upstream's `backup/*.bson`): three users, four movies,
//! showtimes for 2016-08-15…2016-08-18 and five bookings, with fixed ObjectIds so that tests,
//! features and `cargo xtask up` can name them. [`load`] upserts them (idempotent).

use std::future::IntoFuture as _;

use futures::future::try_join_all;
use mongodb::{
    bson::{doc, oid::ObjectId, DateTime},
    Database,
};

use crate::{bookings::Booking, movies::Movie, repo::Record, showtimes::Showtime, users::User};

/// Parses a fixed id (the constants below are all valid).
fn oid(hex: &str) -> ObjectId {
    ObjectId::parse_str(hex).unwrap_or_else(|_| ObjectId::from_bytes([0; 12]))
}

/// Manuel Morejón.
pub const USER_MANUEL: &str = "57a98d98e4b00679b4a830af";
/// Ramón Cabrera.
pub const USER_RAMON: &str = "57a98d98e4b00679b4a830b2";
/// Cristina Cruz.
pub const USER_CRISTINA: &str = "57a98d98e4b00679b4a830b5";

/// "El padrino".
pub const MOVIE_PADRINO: &str = "57b37b7c377dd100054f9f91";
/// "Zootopia".
pub const MOVIE_ZOOTOPIA: &str = "57b37b7c377dd100054f9f92";
/// "Vampiros en La Habana".
pub const MOVIE_VAMPIROS: &str = "57b37b7c377dd100054f9f93";
/// "Fresa y Chocolate".
pub const MOVIE_FRESA: &str = "57b37c7b377dd100054f9f94";

/// Showtimes of 2016-08-15 … 2016-08-18.
pub const SHOWTIMES: [&str; 4] = [
    "57b37e39d88780000587358a",
    "57b37e39d88780000587358b",
    "57b37e39d88780000587358c",
    "57b37e39d88780000587358d",
];

/// When every seeded movie and showtime was created (2016-08-16T22:00:00Z).
pub const CREATED_ON_MILLIS: i64 = 1_471_384_800_000;

/// The three users.
pub fn users() -> Vec<User> {
    [
        (USER_MANUEL, "Manuel", "Morejón"),
        (USER_RAMON, "Ramón", "Cabrera"),
        (USER_CRISTINA, "Cristina", "Cruz"),
    ]
    .into_iter()
    .map(|(id, name, lastname)| User {
        id: oid(id),
        name: name.to_owned(),
        lastname: lastname.to_owned(),
    })
    .collect()
}

/// The four movies.
pub fn movies() -> Vec<Movie> {
    [
        (MOVIE_PADRINO, "El padrino", "Francis Ford Coppola", "9.2"),
        (MOVIE_ZOOTOPIA, "Zootopia", "Byron Howard", "8.0"),
        (
            MOVIE_VAMPIROS,
            "Vampiros en La Habana",
            "Juan Padrón",
            "7.4",
        ),
        (
            MOVIE_FRESA,
            "Fresa y Chocolate",
            "Tomás Gutiérrez Alea",
            "7.7",
        ),
    ]
    .into_iter()
    .map(|(id, title, director, rating)| Movie {
        id: oid(id),
        title: title.to_owned(),
        director: director.to_owned(),
        rating: rating.to_owned(),
        createdon: Some(DateTime::from_millis(CREATED_ON_MILLIS)),
    })
    .collect()
}

/// One showtime a day, 2016-08-15 … 2016-08-18.
pub fn showtimes() -> Vec<Showtime> {
    let programme: [(&str, &[&str]); 4] = [
        ("2016-08-15", &[MOVIE_PADRINO, MOVIE_ZOOTOPIA]),
        ("2016-08-16", &[MOVIE_ZOOTOPIA, MOVIE_VAMPIROS]),
        ("2016-08-17", &[MOVIE_VAMPIROS, MOVIE_FRESA]),
        ("2016-08-18", &[MOVIE_FRESA, MOVIE_PADRINO, MOVIE_ZOOTOPIA]),
    ];
    SHOWTIMES
        .iter()
        .zip(programme)
        .map(|(id, (date, movies))| Showtime {
            id: oid(id),
            date: date.to_owned(),
            createdon: Some(DateTime::from_millis(CREATED_ON_MILLIS)),
            movies: Some(movies.iter().map(|movie| (*movie).to_owned()).collect()),
        })
        .collect()
}

/// The five bookings.
pub fn bookings() -> Vec<Booking> {
    let rows: [(&str, &str, usize, &[&str]); 5] = [
        ("57b37f50d88780000587358e", USER_MANUEL, 0, &[MOVIE_PADRINO]),
        (
            "57b37f50d88780000587358f",
            USER_MANUEL,
            1,
            &[MOVIE_ZOOTOPIA, MOVIE_VAMPIROS],
        ),
        (
            "57b37f50d887800005873590",
            USER_RAMON,
            0,
            &[MOVIE_PADRINO, MOVIE_ZOOTOPIA],
        ),
        ("57b37f50d887800005873591", USER_RAMON, 2, &[MOVIE_FRESA]),
        (
            "57b37f50d887800005873592",
            USER_CRISTINA,
            3,
            &[MOVIE_FRESA, MOVIE_ZOOTOPIA],
        ),
    ];
    rows.into_iter()
        .map(|(id, user, showtime, movies)| Booking {
            id: oid(id),
            userid: user.to_owned(),
            showtimeid: SHOWTIMES[showtime].to_owned(),
            movies: Some(movies.iter().map(|movie| (*movie).to_owned()).collect()),
        })
        .collect()
}

/// Upserts every seed document into `database` by `_id` (running it twice changes nothing).
pub async fn load(database: &Database) -> Result<(), mongodb::error::Error> {
    upsert(database, users()).await?;
    upsert(database, movies()).await?;
    upsert(database, showtimes()).await?;
    upsert(database, bookings()).await
}

async fn upsert<D: Record>(
    database: &Database,
    documents: Vec<D>,
) -> Result<(), mongodb::error::Error> {
    let collection = database.collection::<D>(D::COLLECTION);
    try_join_all(documents.iter().map(|document| {
        collection
            .replace_one(doc! { "_id": document.id() }, document)
            .upsert(true)
            .into_future()
    }))
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn the_seed_has_the_documented_shape() {
        let names: Vec<String> = users()
            .iter()
            .map(|u| format!("{} {}", u.name, u.lastname))
            .collect();
        assert_eq!(names, ["Manuel Morejón", "Ramón Cabrera", "Cristina Cruz"]);
        let titles: Vec<String> = movies().into_iter().map(|m| m.title).collect();
        assert_eq!(
            titles,
            [
                "El padrino",
                "Zootopia",
                "Vampiros en La Habana",
                "Fresa y Chocolate"
            ]
        );
        let dates: Vec<String> = showtimes().into_iter().map(|s| s.date).collect();
        assert_eq!(
            dates,
            ["2016-08-15", "2016-08-16", "2016-08-17", "2016-08-18"]
        );
        assert_eq!(bookings().len(), 5);
    }

    #[test]
    fn ids_are_fixed_unique_and_references_resolve() {
        let mut ids = HashSet::new();
        let zero = ObjectId::from_bytes([0; 12]);
        for id in users()
            .iter()
            .map(Record::id)
            .chain(movies().iter().map(Record::id))
            .chain(showtimes().iter().map(Record::id))
            .chain(bookings().iter().map(Record::id))
        {
            assert_ne!(id, zero);
            assert!(ids.insert(id), "duplicate {id}");
        }
        let known = |hex: &String| ids.contains(&oid(hex));
        for booking in bookings() {
            assert!(known(&booking.userid) && known(&booking.showtimeid));
            assert!(booking.movies.unwrap_or_default().iter().all(known));
        }
        for showtime in showtimes() {
            assert!(showtime.movies.unwrap_or_default().iter().all(known));
        }
    }
}
